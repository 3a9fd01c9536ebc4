package pgwire

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"strconv"
	"strings"
)

// scram runs a SCRAM-SHA-256 exchange (RFC 5802, RFC 7677) without channel
// binding. mechanisms is the body of AuthenticationSASL.
func (c *Conn) scram(password string, mechanisms []byte) error {
	offered := false
	for rest := mechanisms; ; {
		name, next, ok := cstring(rest)
		if !ok || name == "" {
			break
		}
		offered = offered || name == "SCRAM-SHA-256"
		rest = next
	}
	if !offered {
		return errors.New("pgwire: the server offers no SASL mechanism this client supports (SCRAM-SHA-256)")
	}
	nonce := make([]byte, 18)
	if _, err := rand.Read(nonce); err != nil {
		return err
	}
	// PostgreSQL takes the user from the startup message and ignores n=.
	s := newSCRAM("", password, base64.StdEncoding.EncodeToString(nonce))

	first := s.clientFirst()
	msg := append([]byte{'p', 0, 0, 0, 0}, "SCRAM-SHA-256\x00"...)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(first)))
	if err := c.send(append(msg, first...)); err != nil {
		return err
	}
	serverFirst, err := c.saslMessage(11)
	if err != nil {
		return err
	}
	final, err := s.clientFinal(serverFirst)
	if err != nil {
		return err
	}
	if err := c.send(append([]byte{'p', 0, 0, 0, 0}, final...)); err != nil {
		return err
	}
	serverFinal, err := c.saslMessage(12)
	if err != nil {
		return err
	}
	return s.verifyServer(serverFinal)
}

// saslMessage reads the AuthenticationSASLContinue (11) or SASLFinal (12) data.
func (c *Conn) saslMessage(want uint32) (string, error) {
	typ, body, err := c.receive()
	if err != nil {
		return "", err
	}
	if typ == 'E' {
		return "", parseError(body)
	}
	if typ != 'R' || len(body) < 4 || binary.BigEndian.Uint32(body) != want {
		return "", fmt.Errorf("pgwire: unexpected message during SCRAM (type %q)", typ)
	}
	return string(body[4:]), nil
}

// scramState carries one SCRAM-SHA-256 exchange from the client's side.
type scramState struct {
	user, password, clientNonce string
	clientFirstBare             string
	authMessage                 string
	saltedPassword              []byte
}

func newSCRAM(user, password, clientNonce string) *scramState {
	return &scramState{user: user, password: password, clientNonce: clientNonce}
}

// gs2Header says: no channel binding, no authorization identity.
const gs2Header = "n,,"

func (s *scramState) clientFirst() string {
	user := strings.NewReplacer("=", "=3D", ",", "=2C").Replace(s.user)
	s.clientFirstBare = "n=" + user + ",r=" + s.clientNonce
	return gs2Header + s.clientFirstBare
}

func (s *scramState) clientFinal(serverFirst string) (string, error) {
	attrs := scramAttributes(serverFirst)
	nonce, salt64, iterText := attrs["r"], attrs["s"], attrs["i"]
	if !strings.HasPrefix(nonce, s.clientNonce) || len(nonce) == len(s.clientNonce) {
		return "", errors.New("pgwire: SCRAM server nonce does not extend the client nonce")
	}
	salt, err := base64.StdEncoding.DecodeString(salt64)
	if err != nil || len(salt) == 0 {
		return "", errors.New("pgwire: SCRAM server sent an invalid salt")
	}
	iterations, err := strconv.Atoi(iterText)
	if err != nil || iterations < 1 {
		return "", errors.New("pgwire: SCRAM server sent an invalid iteration count")
	}
	// Strictly the password should pass SASLprep first; PostgreSQL itself
	// falls back to the raw bytes, and so does this client.
	s.saltedPassword = pbkdf2SHA256([]byte(s.password), salt, iterations, sha256.Size)
	clientKey := hmacSHA256(s.saltedPassword, "Client Key")
	storedKey := sha256.Sum256(clientKey)
	withoutProof := "c=" + base64.StdEncoding.EncodeToString([]byte(gs2Header)) + ",r=" + nonce
	s.authMessage = s.clientFirstBare + "," + serverFirst + "," + withoutProof
	signature := hmacSHA256(storedKey[:], s.authMessage)
	proof := make([]byte, len(clientKey))
	for i := range clientKey {
		proof[i] = clientKey[i] ^ signature[i]
	}
	return withoutProof + ",p=" + base64.StdEncoding.EncodeToString(proof), nil
}

// verifyServer checks the server's signature: proof that it knows the password too.
func (s *scramState) verifyServer(serverFinal string) error {
	attrs := scramAttributes(serverFinal)
	if e, ok := attrs["e"]; ok {
		return fmt.Errorf("pgwire: SCRAM failed: %s", e)
	}
	got, err := base64.StdEncoding.DecodeString(attrs["v"])
	if err != nil {
		return errors.New("pgwire: SCRAM server sent an invalid signature")
	}
	serverKey := hmacSHA256(s.saltedPassword, "Server Key")
	want := hmacSHA256(serverKey, s.authMessage)
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return errors.New("pgwire: SCRAM server signature does not match")
	}
	return nil
}

func scramAttributes(msg string) map[string]string {
	attrs := map[string]string{}
	for _, part := range strings.Split(msg, ",") {
		if k, v, ok := strings.Cut(part, "="); ok && len(k) == 1 {
			attrs[k] = v
		}
	}
	return attrs
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// pbkdf2SHA256 is PBKDF2 (RFC 8018, section 5.2) with HMAC-SHA-256, written
// out because Go 1.23's standard library has no crypto/pbkdf2.
func pbkdf2SHA256(password, salt []byte, iterations, keyLen int) []byte {
	prf := hmac.New(sha256.New, password)
	out := make([]byte, 0, keyLen)
	for block := uint32(1); len(out) < keyLen; block++ {
		out = append(out, pbkdf2Block(prf, salt, iterations, block)...)
	}
	return out[:keyLen]
}

// pbkdf2Block computes T_i = U_1 ^ U_2 ^ ... ^ U_c for one block index i.
func pbkdf2Block(prf hash.Hash, salt []byte, iterations int, block uint32) []byte {
	prf.Reset()
	prf.Write(salt)
	prf.Write(binary.BigEndian.AppendUint32(nil, block))
	u := prf.Sum(nil)
	t := append([]byte(nil), u...)
	for range iterations - 1 {
		prf.Reset()
		prf.Write(u)
		u = prf.Sum(u[:0])
		for i := range t {
			t[i] ^= u[i]
		}
	}
	return t
}
