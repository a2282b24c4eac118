// go_verify checks Evident checkpoints and proofs with the Go reference
// implementations of C2SP signed-note (golang.org/x/mod/sumdb/note) and of
// RFC 6962 Merkle proofs (golang.org/x/mod/sumdb/tlog), so that Evident's own
// code is not the only judge of what it emits.
//
// Usage:
//
//	go_verify checkpoint VKEY CHECKPOINT
//	go_verify inclusion VKEY CHECKPOINT LEAF_FILE PROOF_JSON
//	go_verify consistency VKEY OLD_CHECKPOINT NEW_CHECKPOINT PROOF_JSON
//
// It exits 0 when the check holds and prints one line saying why otherwise.
package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type checkpoint struct {
	origin string
	size   int64
	root   tlog.Hash
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "go_verify: "+format+"\n", args...)
	os.Exit(1)
}

func open(vkey, path string) checkpoint {
	v, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg, err := os.ReadFile(path)
	if err != nil {
		fail("%v", err)
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		fail("note.Open %s: %v", path, err)
	}
	lines := strings.Split(strings.TrimSuffix(n.Text, "\n"), "\n")
	if len(lines) < 3 {
		fail("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		fail("size: %v", err)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize {
		fail("root hash: %v", err)
	}
	var root tlog.Hash
	copy(root[:], raw)
	return checkpoint{lines[0], size, root}
}

func hashes(list []string) []tlog.Hash {
	out := make([]tlog.Hash, len(list))
	for i, s := range list {
		raw, err := base64.StdEncoding.DecodeString(s)
		if err != nil || len(raw) != tlog.HashSize {
			fail("proof hash %d: %v", i, err)
		}
		copy(out[i][:], raw)
	}
	return out
}

func main() {
	if len(os.Args) < 4 {
		fail("usage: go_verify checkpoint|inclusion|consistency ...")
	}
	switch os.Args[1] {
	case "checkpoint":
		cp := open(os.Args[2], os.Args[3])
		fmt.Printf("ok %s %d %s\n", cp.origin, cp.size, cp.root)
	case "inclusion":
		cp := open(os.Args[2], os.Args[3])
		leaf, err := os.ReadFile(os.Args[4])
		if err != nil {
			fail("%v", err)
		}
		var p struct {
			Index    int64    `json:"index"`
			TreeSize int64    `json:"tree_size"`
			Hashes   []string `json:"hashes"`
		}
		raw, _ := os.ReadFile(os.Args[5])
		if err := json.Unmarshal(raw, &p); err != nil {
			fail("proof: %v", err)
		}
		if p.TreeSize != cp.size {
			fail("proof size %d != checkpoint size %d", p.TreeSize, cp.size)
		}
		if err := tlog.CheckRecord(tlog.RecordProof(hashes(p.Hashes)), cp.size, cp.root, p.Index, tlog.RecordHash(leaf)); err != nil {
			fail("CheckRecord: %v", err)
		}
		fmt.Printf("ok inclusion %d in %d\n", p.Index, cp.size)
	case "consistency":
		old := open(os.Args[2], os.Args[3])
		cur := open(os.Args[2], os.Args[4])
		var p struct {
			Old    int64    `json:"old"`
			New    int64    `json:"new"`
			Hashes []string `json:"hashes"`
		}
		raw, _ := os.ReadFile(os.Args[5])
		if err := json.Unmarshal(raw, &p); err != nil {
			fail("proof: %v", err)
		}
		if p.Old != old.size || p.New != cur.size {
			fail("proof %d->%d does not match checkpoints %d->%d", p.Old, p.New, old.size, cur.size)
		}
		if err := tlog.CheckTree(tlog.TreeProof(hashes(p.Hashes)), cur.size, cur.root, old.size, old.root); err != nil {
			fail("CheckTree: %v", err)
		}
		fmt.Printf("ok consistency %d -> %d\n", old.size, cur.size)
	default:
		fail("unknown command %q", os.Args[1])
	}
}
