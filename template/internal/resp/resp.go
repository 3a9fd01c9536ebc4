// Package resp is a minimal Redis client speaking RESP2 with the standard
// library only, enough for the readiness check: AUTH, SELECT and PING.
package resp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Options says where and as whom to connect.
type Options struct {
	Addr     string // host:port
	Username string // ACL user (Redis 6+); empty means the default user
	Password string
	DB       int
	TLS      bool // rediss://
}

// ParseURL reads redis://[[user]:password@]host[:port][/db] (rediss:// for
// TLS). Its errors never repeat the URL, which may hold the password.
func ParseURL(raw string) (Options, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Options{}, errors.New("resp: the Redis URL is not a valid URL")
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		return Options{}, errors.New("resp: the Redis URL must start with redis:// or rediss://")
	}
	host, port := u.Hostname(), u.Port()
	if host == "" {
		host = "localhost"
	}
	if port == "" {
		port = "6379"
	}
	opts := Options{Addr: net.JoinHostPort(host, port), TLS: u.Scheme == "rediss"}
	// Only a password makes an AUTH: redis://:password@host for the default
	// user, redis://user:password@host for an ACL user (Redis 6+).
	if password, ok := u.User.Password(); ok && password != "" {
		opts.Username, opts.Password = u.User.Username(), password
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		n, err := strconv.Atoi(db)
		if err != nil || n < 0 {
			return Options{}, errors.New("resp: the Redis URL's path must be a database number")
		}
		opts.DB = n
	}
	return opts, nil
}

// Error is an error reply from the server (-ERR ..., -NOAUTH ..., -WRONGPASS ...).
type Error struct {
	Message string
}

func (e *Error) Error() string { return "redis: " + e.Message }

// Ping connects, authenticates when the options carry a password, selects the
// database and sends PING, pipelined in one round trip. nil means +PONG came back.
func Ping(ctx context.Context, opts Options) error {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", opts.Addr)
	if err != nil {
		return err
	}
	if opts.TLS {
		host, _, _ := net.SplitHostPort(opts.Addr)
		tc := tls.Client(nc, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return fmt.Errorf("resp: TLS handshake: %w", err)
		}
		nc = tc
	}
	defer nc.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	var cmds [][]string
	switch {
	case opts.Username != "":
		cmds = append(cmds, []string{"AUTH", opts.Username, opts.Password})
	case opts.Password != "":
		cmds = append(cmds, []string{"AUTH", opts.Password})
	}
	if opts.DB != 0 {
		cmds = append(cmds, []string{"SELECT", strconv.Itoa(opts.DB)})
	}
	cmds = append(cmds, []string{"PING"})
	var req []byte
	for _, cmd := range cmds {
		req = AppendCommand(req, cmd...)
	}
	if _, err := nc.Write(req); err != nil {
		return contextError(ctx, err)
	}
	r := bufio.NewReader(nc)
	var firstErr error
	var last string
	for range cmds {
		reply, err := ReadReply(r)
		var replyErr *Error
		if err != nil && !errors.As(err, &replyErr) {
			return contextError(ctx, err)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		last = reply
	}
	if firstErr != nil {
		return firstErr
	}
	if last != "PONG" {
		return fmt.Errorf("resp: PING answered %q, not PONG", last)
	}
	return nil
}

// contextError reports a read or write cut short by ctx as ctx's error. The
// connection deadline can fire a moment before ctx notices its own.
func contextError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	var netErr net.Error
	if deadline, ok := ctx.Deadline(); ok && errors.As(err, &netErr) && netErr.Timeout() && !time.Now().Before(deadline) {
		return context.DeadlineExceeded
	}
	return err
}

// AppendCommand encodes a command as a RESP array of bulk strings.
func AppendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, '\r', '\n')
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, '\r', '\n')
		b = append(b, a...)
		b = append(b, '\r', '\n')
	}
	return b
}

const maxBulk = 512 << 20 // Redis' own limit for a bulk string

// ReadReply reads one reply. Simple strings, integers and bulk strings come
// back as text, arrays as their elements joined by newlines (enough for a
// health check); an error reply comes back as *Error.
func ReadReply(r *bufio.Reader) (string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return "", fmt.Errorf("resp: reading reply: %w", err)
	}
	if len(line) < 3 || line[len(line)-2] != '\r' {
		return "", errors.New("resp: malformed reply line")
	}
	kind, text := line[0], line[1:len(line)-2]
	switch kind {
	case '+', ':':
		return text, nil
	case '-':
		return "", &Error{Message: text}
	case '$':
		n, err := strconv.Atoi(text)
		if err != nil || n < -1 || n > maxBulk {
			return "", errors.New("resp: malformed bulk length")
		}
		if n == -1 {
			return "", nil // nil bulk string
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return "", fmt.Errorf("resp: reading reply: %w", err)
		}
		if buf[n] != '\r' || buf[n+1] != '\n' {
			return "", errors.New("resp: bulk string not terminated by CRLF")
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(text)
		if err != nil || n < -1 {
			return "", errors.New("resp: malformed array length")
		}
		items := make([]string, 0, max(n, 0))
		for range n {
			item, err := ReadReply(r)
			if err != nil {
				return "", err
			}
			items = append(items, item)
		}
		return strings.Join(items, "\n"), nil
	}
	return "", fmt.Errorf("resp: unknown reply type %q", kind)
}
