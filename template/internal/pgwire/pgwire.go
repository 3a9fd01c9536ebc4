// Package pgwire is a minimal PostgreSQL client speaking the frontend/backend
// protocol (version 3.0) with the standard library only: TLS negotiation,
// startup, password authentication (cleartext, MD5 and SCRAM-SHA-256) and the
// simple query protocol. It serves two jobs, the readiness check (Ping) and
// the migration runner; it is not a general-purpose driver.
package pgwire

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	protocolVersion = 3 << 16  // 3.0
	sslRequestCode  = 80877103 // 1234 << 16 | 5679
	maxMessageSize  = 64 << 20 // refuse absurd lengths from a confused peer
)

// Config says where and as whom to connect.
type Config struct {
	Host     string
	Port     string
	User     string
	Password string
	Database string
	// SSLMode follows libpq: disable, allow, prefer (the default), require,
	// verify-ca or verify-full.
	SSLMode string
	// RootCert is a PEM file of the CAs that verify-ca and verify-full trust
	// (libpq's sslrootcert); empty means the system's roots.
	RootCert string
	// AppName is sent as application_name (shows in pg_stat_activity).
	AppName string
}

var sslModes = []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}

// ParseURL reads a postgres:// or postgresql:// URL. Its errors never repeat
// the URL, which holds the password.
func ParseURL(raw string) (Config, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return Config{}, errors.New("pgwire: the database URL is not a valid URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return Config{}, errors.New("pgwire: the database URL must start with postgres:// or postgresql://")
	}
	cfg := Config{
		Host:     u.Hostname(),
		Port:     u.Port(),
		User:     u.User.Username(),
		Database: strings.TrimPrefix(u.Path, "/"),
		SSLMode:  u.Query().Get("sslmode"),
		RootCert: u.Query().Get("sslrootcert"),
		AppName:  u.Query().Get("application_name"),
	}
	cfg.Password, _ = u.User.Password()
	if cfg.Host == "" {
		cfg.Host = "localhost"
	}
	if cfg.Port == "" {
		cfg.Port = "5432"
	}
	if cfg.User == "" {
		return Config{}, errors.New("pgwire: the database URL names no user")
	}
	if cfg.Database == "" {
		cfg.Database = cfg.User
	}
	if cfg.SSLMode == "" {
		cfg.SSLMode = "prefer"
	}
	if !slices.Contains(sslModes, cfg.SSLMode) {
		return Config{}, fmt.Errorf("pgwire: sslmode must be one of %s", strings.Join(sslModes, ", "))
	}
	return cfg, nil
}

// Error is an ErrorResponse from the server.
type Error struct {
	Severity string // ERROR, FATAL or PANIC
	Code     string // SQLSTATE
	Message  string
	Detail   string
	Hint     string
	Position string
}

func (e *Error) Error() string {
	return fmt.Sprintf("postgres %s %s: %s", e.Severity, e.Code, e.Message)
}

func parseError(body []byte) *Error {
	e := &Error{}
	for len(body) > 1 {
		field := body[0]
		value, rest, ok := cstring(body[1:])
		if !ok {
			break
		}
		body = rest
		switch field {
		case 'V': // non-localized severity; 'S' may be translated
			e.Severity = value
		case 'S':
			if e.Severity == "" {
				e.Severity = value
			}
		case 'C':
			e.Code = value
		case 'M':
			e.Message = value
		case 'D':
			e.Detail = value
		case 'H':
			e.Hint = value
		case 'P':
			e.Position = value
		}
	}
	return e
}

// Conn is one authenticated session. It is not safe for concurrent use.
type Conn struct {
	nc       net.Conn
	r        *bufio.Reader
	params   map[string]string
	txStatus byte
}

// Connect opens a session: TCP, TLS as SSLMode asks, startup and authentication.
func Connect(ctx context.Context, cfg Config) (*Conn, error) {
	nc, err := dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc, r: bufio.NewReader(nc), params: map[string]string{}}
	err = c.withContext(ctx, func() error {
		if err := c.send(startupMessage(cfg)); err != nil {
			return err
		}
		return c.authenticate(cfg)
	})
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	return c, nil
}

// Ping checks that a server accepts connections the way pg_isready does: it
// connects, negotiates TLS, sends a startup message and reads the first
// answer without authenticating. An authentication request means the server
// is up; an ErrorResponse (starting up, shutting down, too many clients, no
// pg_hba.conf entry) means it will not take this service's connections.
func Ping(ctx context.Context, cfg Config) error {
	nc, err := dial(ctx, cfg)
	if err != nil {
		return err
	}
	// Closing mid-authentication is what libpq does too; the server treats a
	// client that hangs up before sending a password as not worth logging.
	defer nc.Close()
	c := &Conn{nc: nc, r: bufio.NewReader(nc)}
	return c.withContext(ctx, func() error {
		if err := c.send(startupMessage(cfg)); err != nil {
			return err
		}
		typ, body, err := c.receive()
		if err != nil {
			return err
		}
		switch typ {
		case 'R':
			if len(body) >= 4 && binary.BigEndian.Uint32(body) == 0 { // trust: a full session started
				_ = c.send([]byte{'X', 0, 0, 0, 4})
			}
			return nil
		case 'E':
			e := parseError(body)
			// Only the SQLSTATE: the message may name users, hosts and databases.
			return fmt.Errorf("server refused the connection (SQLSTATE %s)", e.Code)
		}
		return fmt.Errorf("pgwire: unexpected %q message in answer to startup", typ)
	})
}

// Parameter returns a run-time parameter the server reported (server_version, ...).
func (c *Conn) Parameter(name string) string { return c.params[name] }

// Close ends the session politely.
func (c *Conn) Close() error {
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_ = c.send([]byte{'X', 0, 0, 0, 4})
	return c.nc.Close()
}

// Result is what one statement of a simple query returned; values are in text
// format, nil for NULL.
type Result struct {
	Columns []string
	Rows    [][]*string
	Tag     string // command tag: "CREATE TABLE", "INSERT 0 1", ...
}

// Exec runs sql (one or more statements) with the simple query protocol. It
// always reads up to ReadyForQuery, so the session stays usable after an
// error; the first ErrorResponse is returned as *Error.
func (c *Conn) Exec(ctx context.Context, sql string) ([]Result, error) {
	if strings.IndexByte(sql, 0) >= 0 {
		return nil, errors.New("pgwire: query contains a NUL byte")
	}
	var results []Result
	var firstErr error
	err := c.withContext(ctx, func() error {
		msg := make([]byte, 0, len(sql)+6)
		msg = append(msg, 'Q', 0, 0, 0, 0)
		msg = append(msg, sql...)
		msg = append(msg, 0)
		if err := c.send(msg); err != nil {
			return err
		}
		var cur *Result
		for {
			typ, body, err := c.receive()
			if err != nil {
				return err
			}
			switch typ {
			case 'T':
				cur = &Result{Columns: parseRowDescription(body)}
			case 'D':
				if cur == nil {
					cur = &Result{}
				}
				row, err := parseDataRow(body)
				if err != nil {
					return err
				}
				cur.Rows = append(cur.Rows, row)
			case 'C':
				if cur == nil {
					cur = &Result{}
				}
				cur.Tag, _, _ = cstring(body)
				results = append(results, *cur)
				cur = nil
			case 'I': // empty query
				cur = nil
			case 'E':
				if firstErr == nil {
					firstErr = parseError(body)
				}
				cur = nil
			case 'Z':
				if len(body) > 0 {
					c.txStatus = body[0]
				}
				return nil
			case 'N', 'S', 'A': // notice, parameter status, notification
				if typ == 'S' {
					c.setParameter(body)
				}
			case 'G': // COPY FROM STDIN is not supported: fail it and carry on
				_ = c.send(append([]byte{'f', 0, 0, 0, 0}, "COPY FROM STDIN is not supported by pgwire\x00"...))
			case 'H', 'd', 'c': // COPY TO STDOUT: the data is discarded
			default:
				return fmt.Errorf("pgwire: unexpected %q message during query", typ)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return results, firstErr
}

// InTransaction reports whether the session is inside a transaction block
// (also a failed one), as of the last ReadyForQuery.
func (c *Conn) InTransaction() bool { return c.txStatus == 'T' || c.txStatus == 'E' }

// QuoteLiteral returns s as an SQL string literal (standard_conforming_strings on).
func QuoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

func dial(ctx context.Context, cfg Config) (net.Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", net.JoinHostPort(cfg.Host, cfg.Port))
	if err != nil {
		return nil, err
	}
	if cfg.SSLMode == "disable" || cfg.SSLMode == "allow" {
		return nc, nil
	}
	c := &Conn{nc: nc}
	var answer [1]byte
	err = c.withContext(ctx, func() error {
		req := binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint32(nil, 8), sslRequestCode)
		if _, err := nc.Write(req); err != nil {
			return err
		}
		_, err := io.ReadFull(nc, answer[:])
		return err
	})
	if err != nil {
		_ = nc.Close()
		return nil, err
	}
	switch answer[0] {
	case 'N':
		if cfg.SSLMode == "prefer" {
			return nc, nil
		}
		_ = nc.Close()
		return nil, fmt.Errorf("pgwire: sslmode=%s but the server does not offer TLS", cfg.SSLMode)
	case 'S':
		conf, err := tlsConfig(cfg)
		if err != nil {
			_ = nc.Close()
			return nil, err
		}
		tc := tls.Client(nc, conf)
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = nc.Close()
			return nil, fmt.Errorf("pgwire: TLS handshake: %w", err)
		}
		return tc, nil
	}
	_ = nc.Close()
	return nil, fmt.Errorf("pgwire: unexpected answer %q to SSLRequest", answer[0])
}

// tlsConfig mirrors libpq: prefer and require encrypt without verifying the
// certificate, verify-ca (and require with a root certificate) checks the
// chain, verify-full the chain and the host name.
func tlsConfig(cfg Config) (*tls.Config, error) {
	conf := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.RootCert != "" {
		pem, err := os.ReadFile(cfg.RootCert)
		if err != nil {
			return nil, fmt.Errorf("pgwire: sslrootcert: %w", err)
		}
		conf.RootCAs = x509.NewCertPool()
		if !conf.RootCAs.AppendCertsFromPEM(pem) {
			return nil, errors.New("pgwire: sslrootcert holds no PEM certificate")
		}
	}
	switch {
	case cfg.SSLMode == "verify-full":
	case cfg.SSLMode == "verify-ca", cfg.SSLMode == "require" && cfg.RootCert != "":
		conf.InsecureSkipVerify = true // replaced by the chain check below
		conf.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("pgwire: server sent no certificate")
			}
			opts := x509.VerifyOptions{Roots: conf.RootCAs, Intermediates: x509.NewCertPool()}
			for _, cert := range cs.PeerCertificates[1:] {
				opts.Intermediates.AddCert(cert)
			}
			_, err := cs.PeerCertificates[0].Verify(opts)
			return err
		}
	default:
		conf.InsecureSkipVerify = true // libpq's prefer and require: encryption, no verification
	}
	return conf, nil
}

func startupMessage(cfg Config) []byte {
	msg := []byte{0, 0, 0, 0}
	msg = binary.BigEndian.AppendUint32(msg, protocolVersion)
	params := []string{"user", cfg.User, "database", cfg.Database, "client_encoding", "UTF8"}
	if cfg.AppName != "" {
		params = append(params, "application_name", cfg.AppName)
	}
	for _, s := range params { // name, value, name, value, ...
		msg = append(append(msg, s...), 0)
	}
	msg = append(msg, 0)
	binary.BigEndian.PutUint32(msg, uint32(len(msg)))
	return msg
}

// authenticate answers the server's authentication requests and reads up to
// the first ReadyForQuery.
func (c *Conn) authenticate(cfg Config) error {
	for {
		typ, body, err := c.receive()
		if err != nil {
			return err
		}
		switch typ {
		case 'R':
			if len(body) < 4 {
				return errors.New("pgwire: short authentication message")
			}
			if err := c.answerAuth(cfg, binary.BigEndian.Uint32(body), body[4:]); err != nil {
				return err
			}
		case 'E':
			return parseError(body)
		case 'S':
			c.setParameter(body)
		case 'K', 'N': // backend key (for cancels), notices
		case 'Z':
			if len(body) > 0 {
				c.txStatus = body[0]
			}
			return nil
		default:
			return fmt.Errorf("pgwire: unexpected %q message during startup", typ)
		}
	}
}

func (c *Conn) answerAuth(cfg Config, method uint32, data []byte) error {
	switch method {
	case 0: // AuthenticationOk
		return nil
	case 3: // cleartext
		if cfg.Password == "" {
			return errors.New("pgwire: the server asks for a password and the database URL has none")
		}
		return c.sendPassword(cfg.Password)
	case 5: // MD5 with a 4-byte salt
		if cfg.Password == "" {
			return errors.New("pgwire: the server asks for a password and the database URL has none")
		}
		if len(data) < 4 {
			return errors.New("pgwire: short MD5 salt")
		}
		return c.sendPassword(md5Password(cfg.User, cfg.Password, data[:4]))
	case 10: // SASL
		if cfg.Password == "" {
			return errors.New("pgwire: the server asks for a password and the database URL has none")
		}
		return c.scram(cfg.Password, data)
	}
	return fmt.Errorf("pgwire: the server asks for an unsupported authentication method (%d)", method)
}

// md5Password is "md5" + hex(md5(hex(md5(password + user)) + salt)).
func md5Password(user, password string, salt []byte) string {
	inner := md5.Sum([]byte(password + user))
	outer := md5.Sum(append([]byte(hex.EncodeToString(inner[:])), salt...))
	return "md5" + hex.EncodeToString(outer[:])
}

func (c *Conn) sendPassword(p string) error {
	msg := append([]byte{'p', 0, 0, 0, 0}, p...)
	return c.send(append(msg, 0))
}

func (c *Conn) setParameter(body []byte) {
	name, rest, ok := cstring(body)
	if !ok || c.params == nil {
		return
	}
	value, _, _ := cstring(rest)
	c.params[name] = value
}

// send fills in the length of a framed message (the 4 bytes after the type
// byte, or the first 4 for untyped startup messages) and writes it.
func (c *Conn) send(msg []byte) error {
	if len(msg) > 0 && msg[0] != 0 {
		binary.BigEndian.PutUint32(msg[1:5], uint32(len(msg)-1))
	}
	_, err := c.nc.Write(msg)
	return err
}

// receive reads one backend message: its type and its body.
func (c *Conn) receive() (byte, []byte, error) {
	var head [5]byte
	if _, err := io.ReadFull(c.r, head[:]); err != nil {
		return 0, nil, fmt.Errorf("pgwire: reading from server: %w", err)
	}
	n := binary.BigEndian.Uint32(head[1:])
	if n < 4 || n > maxMessageSize {
		return 0, nil, fmt.Errorf("pgwire: invalid message length %d", n)
	}
	body := make([]byte, n-4)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, fmt.Errorf("pgwire: reading from server: %w", err)
	}
	return head[0], body, nil
}

// withContext runs fn with the connection's deadline following ctx, so a
// cancelled or expired context interrupts blocked reads and writes.
func (c *Conn) withContext(ctx context.Context, fn func() error) error {
	if deadline, ok := ctx.Deadline(); ok {
		_ = c.nc.SetDeadline(deadline)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.nc.SetDeadline(time.Unix(1, 0)) })
	err := fn()
	if !stop() && err != nil {
		// ctx ended while fn ran and the past deadline cut it short.
		return fmt.Errorf("pgwire: %w", ctx.Err())
	}
	_ = c.nc.SetDeadline(time.Time{})
	var netErr net.Error
	if deadline, ok := ctx.Deadline(); ok && errors.As(err, &netErr) && netErr.Timeout() && !time.Now().Before(deadline) {
		// The connection deadline can fire a moment before ctx notices its own.
		return fmt.Errorf("pgwire: %w", context.DeadlineExceeded)
	}
	return err
}

func parseRowDescription(body []byte) []string {
	if len(body) < 2 {
		return nil
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	cols := make([]string, 0, n)
	for range n {
		name, rest, ok := cstring(body)
		if !ok || len(rest) < 18 {
			break
		}
		cols = append(cols, name)
		body = rest[18:] // table OID, column, type OID, size, modifier, format
	}
	return cols
}

func parseDataRow(body []byte) ([]*string, error) {
	if len(body) < 2 {
		return nil, errors.New("pgwire: short DataRow")
	}
	n := int(binary.BigEndian.Uint16(body))
	body = body[2:]
	row := make([]*string, n)
	for i := range n {
		if len(body) < 4 {
			return nil, errors.New("pgwire: short DataRow")
		}
		size := int32(binary.BigEndian.Uint32(body))
		body = body[4:]
		if size < 0 {
			continue // NULL
		}
		if int(size) > len(body) {
			return nil, errors.New("pgwire: short DataRow")
		}
		v := string(body[:size])
		row[i] = &v
		body = body[size:]
	}
	return row, nil
}

// cstring splits a NUL-terminated string off the front of b.
func cstring(b []byte) (string, []byte, bool) {
	i := slices.Index(b, 0)
	if i < 0 {
		return "", b, false
	}
	return string(b[:i]), b[i+1:], true
}
