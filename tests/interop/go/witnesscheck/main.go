// witnesscheck proves end to end that tests/interop/witness.sh gives a working
// C2SP tlog-witness (litewitness), and pins down the protocol details Evident's
// own witness client must get right.
//
// It makes a tiny C2SP log in memory with the Go reference implementation
// (golang.org/x/mod/sumdb/note for the signed note, golang.org/x/mod/sumdb/tlog
// for the RFC 6962 tree and proofs), starts witness.sh with the log's origin and
// verifier key, and then, over HTTP against POST /add-checkpoint:
//
//  1. size 1, "old 0", no proof                          -> 200 + cosignature
//  2. size 2, "old 1", consistency proof 1->2            -> 200 + cosignature
//  3. a fork: another size-2 tree, "old 2", no proof     -> 422 (refused)
//  4. a fork: size 3 extending the OTHER size-2 tree,
//     "old 2", its (self-consistent) proof 2->3          -> 422 (refused)
//  5. stale old size: size 3, "old 1"                    -> 409, body "2\n"
//  6. rollback: size 1, "old 2"                          -> 400
//  7. a checkpoint signed by a key the witness was not
//     given                                             -> 403
//  8. honest size 3, "old 2", proof 2->3                 -> 200 + cosignature
//  9. an origin the witness does not know                -> 403 "unknown log"
//     (the current c2sp.org/tlog-witness text says 404)
//  10. the same size-3 checkpoint again, "old 3"          -> 200 + cosignature
//
// Every cosignature is verified twice: by hand, following c2sp.org/tlog-cosignature
// (key hash, timestamp, Ed25519 over "cosignature/v1\ntime T\n<checkpoint>"),
// and through note.Open with a note.Verifier built from the witness's vkey.
//
// usage: witnesscheck [-witness-sh PATH] [-v]
// Exits 0 and prints "witnesscheck: N passed, 0 failed" when everything holds.
package main

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const origin = "evident.invalid/witnesscheck"

var verbose = flag.Bool("v", false, "print requests and responses")

func main() {
	_, self, _, _ := runtime.Caller(0)
	defaultSh := filepath.Join(filepath.Dir(self), "..", "..", "witness.sh")
	witnessSh := flag.String("witness-sh", defaultSh, "path to tests/interop/witness.sh")
	flag.Parse()

	logSkey, logVkey, err := note.GenerateKey(rand.Reader, origin)
	check(err)
	logSigner, err := note.NewSigner(logSkey)
	check(err)
	otherSkey, _, err := note.GenerateKey(rand.Reader, origin)
	check(err)
	otherSigner, err := note.NewSigner(otherSkey)
	check(err)
	strangerSkey, _, err := note.GenerateKey(rand.Reader, "evident.invalid/unknown-log")
	check(err)
	strangerSigner, err := note.NewSigner(strangerSkey)
	check(err)

	w := startWitness(*witnessSh, origin, logVkey)
	defer w.stop()
	cv, err := parseCosignatureVkey(w.vkey)
	check(err)
	fmt.Printf("witness %s\n  vkey %s\n  log  %s\n", w.url, w.vkey, logVkey)

	honest := &memLog{origin: origin}
	for _, s := range []string{"leaf 0", "leaf 1", "leaf 2"} {
		honest.append([]byte(s))
	}
	fork := &memLog{origin: origin}
	for _, s := range []string{"leaf 0", "FORKED leaf 1", "leaf 2"} {
		fork.append([]byte(s))
	}

	passed, failed := 0, 0
	step := func(name string, err error) {
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", name, err)
		} else {
			passed++
			fmt.Printf("ok   %s\n", name)
		}
	}
	cosigned := func(l *memLog, signer note.Signer, old, size int64, proof tlog.TreeProof) error {
		text, signed := l.checkpoint(signer, size)
		status, body, _ := w.addCheckpoint(old, proof, signed)
		if status != http.StatusOK {
			return fmt.Errorf("status %d, body %q", status, body)
		}
		if err := cv.verifyLines(text, body); err != nil {
			return fmt.Errorf("by hand: %v", err)
		}
		if err := verifyWithNote(signed, body, logVkey, cv); err != nil {
			return fmt.Errorf("via note.Open: %v", err)
		}
		return nil
	}
	refused := func(l *memLog, signer note.Signer, old, size int64, proof tlog.TreeProof, want int, wantBody string) error {
		_, signed := l.checkpoint(signer, size)
		status, body, ctype := w.addCheckpoint(old, proof, signed)
		if status != want {
			return fmt.Errorf("status %d (want %d), body %q", status, want, body)
		}
		if wantBody != "" && string(body) != wantBody {
			return fmt.Errorf("body %q, want %q", body, wantBody)
		}
		if want == http.StatusConflict && ctype != "text/x.tlog.size" {
			return fmt.Errorf("409 Content-Type %q, want text/x.tlog.size", ctype)
		}
		return nil
	}

	step("1 size 1, old 0, empty proof: cosigned", cosigned(honest, logSigner, 0, 1, nil))
	step("2 size 2, old 1, proof 1->2: cosigned", cosigned(honest, logSigner, 1, 2, honest.proof(1, 2)))
	step("3 fork at size 2 (other root), old 2: refused 422",
		refused(fork, logSigner, 2, 2, nil, http.StatusUnprocessableEntity, "bad consistency proof\n"))
	step("4 fork: size 3 on the other size-2 tree, its proof 2->3: refused 422",
		refused(fork, logSigner, 2, 3, fork.proof(2, 3), http.StatusUnprocessableEntity, ""))
	step("5 stale old size 1 (witness is at 2): 409 with body \"2\\n\"",
		refused(honest, logSigner, 1, 3, honest.proof(1, 3), http.StatusConflict, "2\n"))
	step("6 rollback: size 1 with old 2: refused 400",
		refused(honest, logSigner, 2, 1, nil, http.StatusBadRequest, ""))
	step("7 checkpoint signed by an unknown key: refused 403",
		refused(honest, otherSigner, 2, 3, honest.proof(2, 3), http.StatusForbidden, "invalid signature\n"))
	step("8 honest size 3, old 2, proof 2->3: cosigned", cosigned(honest, logSigner, 2, 3, honest.proof(2, 3)))
	stranger := &memLog{origin: "evident.invalid/unknown-log"}
	stranger.append([]byte("leaf 0"))
	// c2sp.org/tlog-witness now says 404 for an unknown origin; litewitness
	// v0.6.1 answers 403 "unknown log". Either is a refusal.
	step("9 unknown origin: refused 403 (litewitness v0.6.1; the spec now says 404)",
		refused(stranger, strangerSigner, 0, 1, nil, http.StatusForbidden, "unknown log\n"))
	step("10 same size 3 again, old 3: cosigned again (idempotent)", cosigned(honest, logSigner, 3, 3, nil))

	fmt.Printf("witnesscheck: %d passed, %d failed\n", passed, failed)
	if failed > 0 {
		w.stop()
		os.Exit(1)
	}
}

// --- a tiny C2SP log -------------------------------------------------------

type memLog struct {
	origin string
	hashes []tlog.Hash // tlog's stored hash layout
	n      int64
}

func (m *memLog) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("no stored hash %d", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

func (m *memLog) append(record []byte) {
	sh, err := tlog.StoredHashes(m.n, record, m)
	check(err)
	m.hashes = append(m.hashes, sh...)
	m.n++
}

// proof is the RFC 6962/9162 consistency proof from size old to size size.
func (m *memLog) proof(old, size int64) tlog.TreeProof {
	p, err := tlog.ProveTree(size, old, m)
	check(err)
	return p
}

// checkpoint returns the C2SP tlog-checkpoint body of the tree of the given
// size and that body signed as a C2SP signed note.
func (m *memLog) checkpoint(signer note.Signer, size int64) (text string, signed []byte) {
	h, err := tlog.TreeHash(size, m)
	check(err)
	text = fmt.Sprintf("%s\n%d\n%s\n", m.origin, size, base64.StdEncoding.EncodeToString(h[:]))
	signed, err = note.Sign(&note.Note{Text: text}, signer)
	check(err)
	return text, signed
}

// --- the witness -----------------------------------------------------------

type witness struct {
	cmd       *exec.Cmd
	url, vkey string
}

func startWitness(sh, origin, logVkey string) *witness {
	cmd := exec.Command("bash", sh, origin, logVkey)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	check(err)
	check(cmd.Start())
	w := &witness{cmd: cmd}
	running = w
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		switch k {
		case "WITNESS_URL":
			w.url = v
		case "WITNESS_VKEY":
			w.vkey = v
		}
		if k == "WITNESS_READY" {
			break
		}
	}
	go io.Copy(io.Discard, out)
	if w.url == "" || w.vkey == "" {
		w.stop()
		fmt.Fprintln(os.Stderr, "witnesscheck: witness.sh did not report WITNESS_URL/WITNESS_VKEY")
		os.Exit(1)
	}
	return w
}

func (w *witness) stop() {
	if w.cmd.Process != nil && w.cmd.ProcessState == nil {
		w.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { w.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			w.cmd.Process.Kill()
		}
	}
}

// addCheckpoint sends a c2sp.org/tlog-witness add-checkpoint request:
//
//	old <size>\n
//	<base64 proof hash>\n   (zero or more)
//	\n
//	<signed checkpoint note>
func (w *witness) addCheckpoint(old int64, proof tlog.TreeProof, signed []byte) (int, []byte, string) {
	var req bytes.Buffer
	fmt.Fprintf(&req, "old %d\n", old)
	for _, h := range proof {
		fmt.Fprintf(&req, "%s\n", base64.StdEncoding.EncodeToString(h[:]))
	}
	req.WriteString("\n")
	req.Write(signed)
	resp, err := http.Post(w.url+"/add-checkpoint", "text/plain", bytes.NewReader(req.Bytes()))
	check(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	check(err)
	if *verbose {
		fmt.Printf("---- request\n%s---- response %d %s\n%s----\n", req.String(), resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	return resp.StatusCode, body, resp.Header.Get("Content-Type")
}

// --- c2sp.org/tlog-cosignature ----------------------------------------------

const algCosignatureV1 = 0x04

type cosigVerifier struct {
	name string
	hash uint32
	key  ed25519.PublicKey
}

// parseCosignatureVkey parses "<name>+<8 hex key hash>+<base64(0x04 || 32-byte Ed25519 key)>"
// and checks that the key hash is the first 4 bytes of
// SHA-256(<name> || "\n" || 0x04 || key).
func parseCosignatureVkey(vkey string) (*cosigVerifier, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	hash16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || len(hash16) != 8 {
		return nil, errors.New("malformed vkey")
	}
	h, err := strconv.ParseUint(hash16, 16, 32)
	if err != nil {
		return nil, err
	}
	key, err := base64.StdEncoding.DecodeString(key64)
	if err != nil || len(key) != 1+ed25519.PublicKeySize || key[0] != algCosignatureV1 {
		return nil, errors.New("vkey is not a cosignature/v1 (0x04) Ed25519 key")
	}
	sum := sha256.Sum256(append([]byte(name+"\n"), key...))
	if binary.BigEndian.Uint32(sum[:4]) != uint32(h) {
		return nil, errors.New("vkey key hash does not match")
	}
	return &cosigVerifier{name: name, hash: uint32(h), key: ed25519.PublicKey(key[1:])}, nil
}

// note.Verifier, so note.Open can check cosignature lines.
func (v *cosigVerifier) Name() string    { return v.name }
func (v *cosigVerifier) KeyHash() uint32 { return v.hash }
func (v *cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 8+ed25519.SignatureSize {
		return false
	}
	t := binary.BigEndian.Uint64(sig)
	return ed25519.Verify(v.key, cosignedMessage(t, msg), sig[8:])
}

func cosignedMessage(t uint64, checkpoint []byte) []byte {
	return append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), checkpoint...)
}

// verifyLines checks a 200 response body: one or more signature lines
// "— <name> <base64(4-byte key hash || 8-byte big-endian UNIX time || 64-byte Ed25519 sig)>\n",
// one of which is ours and verifies over the checkpoint body.
func (v *cosigVerifier) verifyLines(checkpoint string, body []byte) error {
	if len(body) == 0 || body[len(body)-1] != '\n' {
		return fmt.Errorf("body %q does not end in a newline", body)
	}
	found := 0
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 ")
		if !ok {
			return fmt.Errorf("line %q does not start with an em dash and a space", line)
		}
		name, b64, ok := strings.Cut(rest, " ")
		if !ok || name != v.name {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(raw) != 4+8+ed25519.SignatureSize {
			return fmt.Errorf("signature of %d bytes, want 76", len(raw))
		}
		if binary.BigEndian.Uint32(raw) != v.hash {
			return errors.New("key hash in the signature does not match the vkey")
		}
		t := binary.BigEndian.Uint64(raw[4:])
		if d := time.Since(time.Unix(int64(t), 0)); d > time.Minute || d < -time.Minute {
			return fmt.Errorf("cosignature time %d is %v from now", t, d)
		}
		if !ed25519.Verify(v.key, cosignedMessage(t, []byte(checkpoint)), raw[12:]) {
			return errors.New("Ed25519 signature does not verify")
		}
		found++
	}
	if found != 1 {
		return fmt.Errorf("%d cosignature lines from %s, want 1", found, v.name)
	}
	return nil
}

// verifyWithNote appends the cosignature lines to the log-signed checkpoint and
// opens the result with the Go reference note implementation, requiring both
// the log's signature and the witness's cosignature to verify.
func verifyWithNote(signed, cosigs []byte, logVkey string, cv *cosigVerifier) error {
	lv, err := note.NewVerifier(logVkey)
	if err != nil {
		return err
	}
	n, err := note.Open(append(append([]byte{}, signed...), cosigs...), note.VerifierList(lv, cv))
	if err != nil {
		return err
	}
	names := map[string]bool{}
	for _, s := range n.Sigs {
		names[s.Name] = true
	}
	if !names[cv.name] || !names[lv.Name()] {
		return fmt.Errorf("verified signatures %v, want the log's and the witness's", n.Sigs)
	}
	return nil
}

var running *witness // stopped by check before exiting

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "witnesscheck:", err)
		if running != nil {
			running.stop()
		}
		os.Exit(1)
	}
}
