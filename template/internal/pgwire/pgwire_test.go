package pgwire

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// backend is the server side of one connection to a fake PostgreSQL.
type backend struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

// fakeServer accepts one connection and hands it to script; it returns a
// Config pointing at it (sslmode=disable unless the test changes it).
func fakeServer(t *testing.T, script func(b *backend)) Config {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
		script(&backend{t: t, nc: nc, r: bufio.NewReader(nc)})
	}()
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	return Config{Host: host, Port: port, User: "app", Password: "secret", Database: "appdb", SSLMode: "disable"}
}

// startup reads an untyped startup-phase message: its code and parameters.
func (b *backend) startup() (uint32, map[string]string) {
	var head [8]byte
	if _, err := io.ReadFull(b.r, head[:]); err != nil {
		b.t.Errorf("reading startup: %v", err)
		return 0, nil
	}
	body := make([]byte, binary.BigEndian.Uint32(head[:4])-8)
	if _, err := io.ReadFull(b.r, body); err != nil {
		b.t.Errorf("reading startup: %v", err)
	}
	params := map[string]string{}
	for {
		k, rest, ok := cstring(body)
		if !ok || k == "" {
			break
		}
		v, rest2, _ := cstring(rest)
		params[k], body = v, rest2
	}
	return binary.BigEndian.Uint32(head[4:]), params
}

func (b *backend) read() (byte, []byte) {
	var head [5]byte
	if _, err := io.ReadFull(b.r, head[:]); err != nil {
		b.t.Errorf("reading message: %v", err)
		return 0, nil
	}
	body := make([]byte, binary.BigEndian.Uint32(head[1:])-4)
	if _, err := io.ReadFull(b.r, body); err != nil {
		b.t.Errorf("reading message: %v", err)
	}
	return head[0], body
}

func (b *backend) send(typ byte, parts ...[]byte) {
	body := []byte{}
	for _, p := range parts {
		body = append(body, p...)
	}
	msg := append([]byte{typ}, binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))...)
	if _, err := b.nc.Write(append(msg, body...)); err != nil {
		b.t.Errorf("writing %q: %v", typ, err)
	}
}

func u32(n uint32) []byte  { return binary.BigEndian.AppendUint32(nil, n) }
func cstr(s string) []byte { return append([]byte(s), 0) }

func (b *backend) ready() {
	b.send('S', cstr("server_version"), cstr("16.4"))
	b.send('K', u32(42), u32(7))
	b.send('R', u32(0))
	b.send('Z', []byte{'I'})
}

func (b *backend) errorResponse(code, message string) {
	b.send('E', cstr("SERROR"), cstr("VERROR"), cstr("C"+code), cstr("M"+message), []byte{0})
}

func TestTrustStartupQueryAndErrors(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		code, params := b.startup()
		if code != protocolVersion || params["user"] != "app" || params["database"] != "appdb" {
			t.Errorf("startup %d %v", code, params)
		}
		b.ready()
		if typ, body := b.read(); typ != 'Q' || string(body) != "SELECT 1 AS one, NULL AS n\x00" {
			t.Errorf("query %q %q", typ, body)
		}
		col := func(name string) []byte { return append(cstr(name), make([]byte, 18)...) }
		b.send('T', []byte{0, 2}, col("one"), col("n"))
		b.send('D', []byte{0, 2}, u32(1), []byte("1"), u32(0xFFFFFFFF))
		b.send('C', cstr("SELECT 1"))
		b.send('Z', []byte{'I'})

		b.read()
		b.errorResponse("42P01", `relation "nope" does not exist`)
		b.send('Z', []byte{'I'})

		if typ, _ := b.read(); typ != 'X' {
			t.Errorf("Close sent %q, want Terminate", typ)
		}
	})
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if v := c.Parameter("server_version"); v != "16.4" {
		t.Errorf("server_version = %q", v)
	}
	res, err := c.Exec(context.Background(), "SELECT 1 AS one, NULL AS n")
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].Tag != "SELECT 1" || strings.Join(res[0].Columns, ",") != "one,n" {
		t.Fatalf("results = %+v", res)
	}
	if row := res[0].Rows[0]; *row[0] != "1" || row[1] != nil {
		t.Fatalf("row = %v", row)
	}
	_, err = c.Exec(context.Background(), "SELECT * FROM nope")
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "42P01" || pgErr.Severity != "ERROR" {
		t.Fatalf("err = %v, want *Error 42P01", err)
	}
	_ = c.Close()
}

func TestCleartextPassword(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		b.send('R', u32(3))
		if typ, body := b.read(); typ != 'p' || string(body) != "secret\x00" {
			t.Errorf("password message %q %q", typ, body)
		}
		b.ready()
	})
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

func TestMD5Password(t *testing.T) {
	salt := []byte{1, 2, 3, 4}
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		b.send('R', u32(5), salt)
		// md5(md5("secret" + "app") + salt), computed independently with Python's hashlib.
		if typ, body := b.read(); typ != 'p' || string(body) != "md5911f527656472583a006e7727877b33e\x00" {
			t.Errorf("password message %q %q", typ, body)
		}
		b.ready()
	})
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

// scramServer plays the server side of SCRAM-SHA-256 for password.
func scramServer(b *backend, password string) {
	b.startup()
	b.send('R', u32(10), cstr("SCRAM-SHA-256-PLUS"), cstr("SCRAM-SHA-256"), []byte{0})
	typ, body := b.read()
	mech, rest, _ := cstring(body)
	if typ != 'p' || mech != "SCRAM-SHA-256" {
		b.t.Errorf("SASLInitialResponse %q %q", typ, mech)
		return
	}
	clientFirst := string(rest[4:])
	clientFirstBare := strings.TrimPrefix(clientFirst, "n,,")
	clientNonce := scramAttributes(clientFirstBare)["r"]
	salt := []byte("sixteen byte salt")
	serverFirst := "r=" + clientNonce + "server-nonce,s=" + base64.StdEncoding.EncodeToString(salt) + ",i=4096"
	b.send('R', u32(11), []byte(serverFirst))

	typ, body = b.read()
	clientFinal := string(body)
	attrs := scramAttributes(clientFinal)
	if typ != 'p' || attrs["c"] != "biws" || attrs["r"] != clientNonce+"server-nonce" {
		b.t.Errorf("client-final %q %q", typ, clientFinal)
		return
	}
	salted := pbkdf2SHA256([]byte(password), salt, 4096, 32)
	storedKey := sha256.Sum256(hmacSHA256(salted, "Client Key"))
	withoutProof := clientFinal[:strings.Index(clientFinal, ",p=")]
	authMessage := clientFirstBare + "," + serverFirst + "," + withoutProof
	signature := hmacSHA256(storedKey[:], authMessage)
	proof, _ := base64.StdEncoding.DecodeString(attrs["p"])
	clientKey := make([]byte, len(proof))
	for i := range proof {
		clientKey[i] = proof[i] ^ signature[i]
	}
	if got := sha256.Sum256(clientKey); !hmac.Equal(got[:], storedKey[:]) {
		b.errorResponse("28P01", `password authentication failed for user "app"`)
		return
	}
	serverSig := hmacSHA256(hmacSHA256(salted, "Server Key"), authMessage)
	b.send('R', u32(12), []byte("v="+base64.StdEncoding.EncodeToString(serverSig)))
	b.ready()
}

func TestSCRAMSHA256(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) { scramServer(b, "secret") })
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

func TestSCRAMWithAWrongPassword(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) { scramServer(b, "another password") })
	_, err := Connect(context.Background(), cfg)
	var pgErr *Error
	if !errors.As(err, &pgErr) || pgErr.Code != "28P01" {
		t.Fatalf("err = %v, want 28P01", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("the error leaks the password: %v", err)
	}
}

// TestSCRAMVector checks the exchange against the example in RFC 7677, section 3.
func TestSCRAMVector(t *testing.T) {
	s := newSCRAM("user", "pencil", "rOprNGfwEbeRWgbNEkqO")
	if got := s.clientFirst(); got != "n,,n=user,r=rOprNGfwEbeRWgbNEkqO" {
		t.Fatalf("client-first = %q", got)
	}
	final, err := s.clientFinal("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
	if err != nil {
		t.Fatal(err)
	}
	if want := "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="; final != want {
		t.Fatalf("client-final = %q, want %q", final, want)
	}
	if err := s.verifyServer("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="); err != nil {
		t.Fatal(err)
	}
	if err := s.verifyServer("v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="); err == nil {
		t.Fatal("a forged server signature was accepted")
	}
}

func TestSCRAMRejectsANonceTheServerDidNotExtend(t *testing.T) {
	s := newSCRAM("", "pw", "abc")
	s.clientFirst()
	if _, err := s.clientFinal("r=xyz,s=c2FsdA==,i=4096"); err == nil {
		t.Fatal("accepted a foreign nonce")
	}
}

func TestPBKDF2SHA256Vectors(t *testing.T) {
	for _, tc := range []struct {
		password, salt string
		iterations     int
		keyLen         int
		want           string
	}{
		{"password", "salt", 1, 32, "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b"},
		{"password", "salt", 4096, 32, "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a"},
		{"passwordPASSWORDpassword", "saltSALTsaltSALTsaltSALTsaltSALTsalt", 4096, 40,
			"348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9"},
	} {
		got := hex.EncodeToString(pbkdf2SHA256([]byte(tc.password), []byte(tc.salt), tc.iterations, tc.keyLen))
		if got != tc.want {
			t.Errorf("PBKDF2(%q, %q, %d) = %s, want %s", tc.password, tc.salt, tc.iterations, got, tc.want)
		}
	}
}

func TestSSLRequestRefusedFallsBackWhenPreferred(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		if code, _ := b.startup(); code != sslRequestCode {
			t.Errorf("first message %d, want SSLRequest", code)
		}
		_, _ = b.nc.Write([]byte{'N'})
		b.startup()
		b.ready()
	})
	cfg.SSLMode = "prefer"
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
}

func TestSSLRequiredButRefused(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		_, _ = b.nc.Write([]byte{'N'})
	})
	cfg.SSLMode = "require"
	if _, err := Connect(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "does not offer TLS") {
		t.Fatalf("err = %v", err)
	}
}

func TestPingStopsAtTheAuthenticationRequest(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		if code, _ := b.startup(); code != sslRequestCode {
			t.Errorf("pg_isready-style ping starts with SSLRequest, got %d", code)
		}
		_, _ = b.nc.Write([]byte{'N'})
		b.startup()
		b.send('R', u32(10), cstr("SCRAM-SHA-256"), []byte{0})
		// The client hangs up instead of answering.
		if _, err := b.r.ReadByte(); err != io.EOF {
			t.Errorf("after the auth request the client sent data or failed oddly: %v", err)
		}
	})
	cfg.SSLMode = "prefer"
	if err := Ping(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
}

func TestPingReportsARefusalByItsSQLSTATEOnly(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		b.send('E', cstr("SFATAL"), cstr("VFATAL"), cstr("C57P03"), cstr(`Mthe database system is starting up for user "app"`), []byte{0})
	})
	err := Ping(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "57P03") || strings.Contains(err.Error(), "app") {
		t.Fatalf("err = %v", err)
	}
}

func TestPingHonoursTheContextDeadline(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		_, _ = io.Copy(io.Discard, b.r) // never answers; returns when the client hangs up
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Ping(ctx, cfg)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want DeadlineExceeded", err)
	}
	if elapsed := time.Since(start); elapsed > 500*time.Millisecond {
		t.Fatalf("Ping took %v past a 100ms deadline", elapsed)
	}
}

func TestAbsurdMessageLengthIsRefused(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		_, _ = b.nc.Write([]byte{'R', 0x7f, 0xff, 0xff, 0xff})
	})
	if _, err := Connect(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "invalid message length") {
		t.Fatalf("err = %v", err)
	}
}

func TestParseURL(t *testing.T) {
	cfg, err := ParseURL("postgresql://app:p%40ss@db.internal/orders?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=api")
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Host: "db.internal", Port: "5432", User: "app", Password: "p@ss", Database: "orders", SSLMode: "verify-full", RootCert: "/etc/ca.pem", AppName: "api"}
	if cfg != want {
		t.Fatalf("cfg = %+v", cfg)
	}
	cfg, _ = ParseURL("postgres://app:pw@[::1]:6543")
	if cfg.Host != "::1" || cfg.Port != "6543" || cfg.Database != "app" || cfg.SSLMode != "prefer" {
		t.Fatalf("cfg = %+v", cfg)
	}
	for _, bad := range []string{"postgres://:hunter2@db/x", "mysql://app:hunter2@db/x", "postgres://app:hunter2@db/x?sslmode=hunter2", "postgres://app:hunter2@db:x/"} {
		_, err := ParseURL(bad)
		if err == nil {
			t.Errorf("%q was accepted", bad)
		} else if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error leaks the URL: %v", err)
		}
	}
}

func TestQuoteLiteral(t *testing.T) {
	if got := QuoteLiteral(`it's`); got != `'it''s'` {
		t.Fatalf("QuoteLiteral = %s", got)
	}
}

func TestCopyIsRefusedOrDiscardedAndTheSessionStaysUsable(t *testing.T) {
	cfg := fakeServer(t, func(b *backend) {
		b.startup()
		b.ready()
		b.read() // COPY ... TO STDOUT
		b.send('H', []byte{0, 0, 0})
		b.send('d', []byte("1\n"))
		b.send('c')
		b.send('C', cstr("COPY 1"))
		b.send('Z', []byte{'I'})
		b.read() // COPY ... FROM STDIN
		b.send('G', []byte{0, 0, 0})
		if typ, _ := b.read(); typ != 'f' {
			t.Errorf("answer to CopyInResponse = %q, want CopyFail", typ)
		}
		b.errorResponse("57014", "COPY from stdin failed")
		b.send('Z', []byte{'I'})
		b.read()
	})
	c, err := Connect(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if res, err := c.Exec(context.Background(), "COPY t TO STDOUT"); err != nil || res[0].Tag != "COPY 1" {
		t.Fatalf("copy out: %v %v", res, err)
	}
	var pgErr *Error
	if _, err := c.Exec(context.Background(), "COPY t FROM STDIN"); !errors.As(err, &pgErr) || pgErr.Code != "57014" {
		t.Fatalf("copy in: err = %v", err)
	}
}
