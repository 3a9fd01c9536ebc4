package resp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// fakeRedis answers every command through answer until the client hangs up,
// and records the commands it received.
func fakeRedis(t *testing.T, answer func(cmd []string) string) (string, *[][]string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(nc)
		for {
			cmd, err := readCommand(r)
			if err != nil {
				return
			}
			got = append(got, cmd)
			if _, err := io.WriteString(nc, answer(cmd)); err != nil {
				return
			}
		}
	}()
	return ln.Addr().String(), &got
}

// readCommand parses one RESP array of bulk strings, the way a server does.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(line, "*") || !strings.HasSuffix(line, "\r\n") {
		return nil, errors.New("not an array: " + line)
	}
	var n int
	for _, c := range line[1 : len(line)-2] {
		n = n*10 + int(c-'0')
	}
	cmd := make([]string, 0, n)
	for range n {
		item, err := ReadReply(r)
		if err != nil {
			return nil, err
		}
		cmd = append(cmd, item)
	}
	return cmd, nil
}

func pong(cmd []string) string {
	if cmd[0] == "PING" {
		return "+PONG\r\n"
	}
	return "+OK\r\n"
}

func TestPingWithoutPassword(t *testing.T) {
	addr, got := fakeRedis(t, pong)
	if err := Ping(context.Background(), Options{Addr: addr}); err != nil {
		t.Fatal(err)
	}
	if len(*got) != 1 || (*got)[0][0] != "PING" {
		t.Fatalf("commands = %q, want only PING", *got)
	}
}

func TestAuthSelectAndPing(t *testing.T) {
	addr, got := fakeRedis(t, pong)
	opts, err := ParseURL("redis://:s3cret@" + addr + "/2")
	if err != nil {
		t.Fatal(err)
	}
	if err := Ping(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	want := "AUTH s3cret|SELECT 2|PING"
	var seen []string
	for _, cmd := range *got {
		seen = append(seen, strings.Join(cmd, " "))
	}
	if strings.Join(seen, "|") != want {
		t.Fatalf("commands = %q, want %q", seen, want)
	}
}

func TestACLUserAuth(t *testing.T) {
	addr, got := fakeRedis(t, pong)
	opts, _ := ParseURL("redis://worker:s3cret@" + addr)
	if err := Ping(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if strings.Join((*got)[0], " ") != "AUTH worker s3cret" {
		t.Fatalf("commands = %q", *got)
	}
}

func TestAWrongPasswordIsReported(t *testing.T) {
	addr, _ := fakeRedis(t, func(cmd []string) string {
		switch cmd[0] {
		case "AUTH":
			return "-WRONGPASS invalid username-password pair or user is disabled.\r\n"
		case "PING":
			return "-NOAUTH Authentication required.\r\n"
		}
		return "+OK\r\n"
	})
	err := Ping(context.Background(), Options{Addr: addr, Password: "s3cret"})
	var replyErr *Error
	if !errors.As(err, &replyErr) || !strings.HasPrefix(replyErr.Message, "WRONGPASS") {
		t.Fatalf("err = %v, want the WRONGPASS reply", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("the error leaks the password: %v", err)
	}
}

func TestAnAnswerOtherThanPONGFails(t *testing.T) {
	addr, _ := fakeRedis(t, func([]string) string { return "$5\r\nhello\r\n" })
	if err := Ping(context.Background(), Options{Addr: addr}); err == nil {
		t.Fatal("accepted a bulk string for PONG")
	}
}

func TestPingHonoursTheContextDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		nc, err := ln.Accept()
		if err == nil {
			_, _ = io.Copy(io.Discard, nc) // reads, never answers
			nc.Close()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := Ping(ctx, Options{Addr: ln.Addr().String()}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("Ping took %v past a 100ms deadline", elapsed)
	}
}

func TestReadReplyFraming(t *testing.T) {
	in := "+OK\r\n:42\r\n$5\r\nhe\r\nl\r\n$-1\r\n*2\r\n$1\r\na\r\n+b\r\n-ERR boom\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	for _, want := range []string{"OK", "42", "he\r\nl", "", "a\nb"} {
		got, err := ReadReply(r)
		if err != nil || got != want {
			t.Fatalf("ReadReply = %q, %v; want %q", got, err, want)
		}
	}
	var replyErr *Error
	if _, err := ReadReply(r); !errors.As(err, &replyErr) || replyErr.Message != "ERR boom" {
		t.Fatalf("err = %v", err)
	}
	for _, bad := range []string{"$5\r\nhi\r\n", "$x\r\n", "?\r\n", "+OK\n", "$3\r\nabcde"} {
		if _, err := ReadReply(bufio.NewReader(strings.NewReader(bad))); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
}

func TestAppendCommand(t *testing.T) {
	if got := string(AppendCommand(nil, "AUTH", "p w")); got != "*2\r\n$4\r\nAUTH\r\n$3\r\np w\r\n" {
		t.Fatalf("AppendCommand = %q", got)
	}
}

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]Options{
		"redis://cache":                   {Addr: "cache:6379"},
		"redis://:pw@cache:6380/3":        {Addr: "cache:6380", Password: "pw", DB: 3},
		"redis://user:pw@cache":           {Addr: "cache:6379", Username: "user", Password: "pw"},
		"rediss://:pw@cache.example:6390": {Addr: "cache.example:6390", Password: "pw", TLS: true},
		"redis://user@cache/0":            {Addr: "cache:6379"},
	} {
		got, err := ParseURL(raw)
		if err != nil || got != want {
			t.Errorf("ParseURL(%q) = %+v, %v; want %+v", raw, got, err, want)
		}
	}
	for _, bad := range []string{"http://:hunter2@cache", "redis://:hunter2@cache/db", "redis://:hunter2@cache:port"} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("%q was accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error leaks the URL: %v", err)
		}
	}
}
