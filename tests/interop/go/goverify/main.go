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
//	go_verify tiles VKEY CHECKPOINT TILE_PREFIX_URL TOKEN
//
// The tiles command is a tile-based client: it reads the log's C2SP tiles
// over HTTP through tlog.TileHashReader (which checks every tile against the
// signed tree head), recomputes the root, proves and checks every record and
// every earlier tree from tiles alone, and checks each entry bundle's records
// against the level-0 hashes.
//
// It exits 0 when the check holds and prints one line saying why otherwise.
package main

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	case "tiles":
		cp := open(os.Args[2], os.Args[3])
		tr := &tileReader{prefix: os.Args[4], token: os.Args[5]}
		r := tlog.TileHashReader(tlog.Tree{N: cp.size, Hash: cp.root}, tr)
		th, err := tlog.TreeHash(cp.size, r)
		if err != nil || th != cp.root {
			fail("TreeHash from tiles: %v (%s vs %s)", err, th, cp.root)
		}
		for i := int64(0); i < cp.size; i++ {
			p, err := tlog.ProveRecord(cp.size, i, r)
			if err != nil {
				fail("ProveRecord %d: %v", i, err)
			}
			hs, err := r.ReadHashes([]int64{tlog.StoredHashIndex(0, i)})
			if err != nil {
				fail("leaf hash %d: %v", i, err)
			}
			if err := tlog.CheckRecord(p, cp.size, cp.root, i, hs[0]); err != nil {
				fail("CheckRecord %d: %v", i, err)
			}
		}
		for m := int64(1); m < cp.size; m++ {
			hm, err := tlog.TreeHash(m, r)
			if err != nil {
				fail("TreeHash(%d): %v", m, err)
			}
			p, err := tlog.ProveTree(cp.size, m, r)
			if err != nil {
				fail("ProveTree %d: %v", m, err)
			}
			if err := tlog.CheckTree(p, cp.size, cp.root, m, hm); err != nil {
				fail("CheckTree %d: %v", m, err)
			}
		}
		// Entry bundles: uint16 length-prefixed records hashing to the level-0 tiles.
		for start := int64(0); start < cp.size; start += 256 {
			w := cp.size - start
			if w > 256 {
				w = 256
			}
			t := tlog.Tile{H: 8, L: 0, N: start / 256, W: int(w)}
			path := strings.Replace(t.Path(), "tile/8/0/", "tile/entries/", 1)
			data := tr.get(path)
			for i := int64(0); i < w; i++ {
				if len(data) < 2 {
					fail("bundle %s ends early at entry %d", path, i)
				}
				n := int(binary.BigEndian.Uint16(data))
				if len(data) < 2+n {
					fail("bundle %s: entry %d is cut short", path, i)
				}
				hs, _ := r.ReadHashes([]int64{tlog.StoredHashIndex(0, start+i)})
				if tlog.RecordHash(data[2:2+n]) != hs[0] {
					fail("bundle %s: entry %d does not hash to its tile", path, i)
				}
				data = data[2+n:]
			}
			if len(data) != 0 {
				fail("bundle %s has %d trailing bytes", path, len(data))
			}
		}
		fmt.Printf("ok tiles %d\n", cp.size)
	default:
		fail("unknown command %q", os.Args[1])
	}
}

// tileReader fetches C2SP tiles: Go's tile path tile/8/L/N maps to tile/L/N.
type tileReader struct {
	prefix, token string
}

func (t *tileReader) Height() int { return 8 }

func (t *tileReader) get(path string) []byte {
	req, _ := http.NewRequest("GET", t.prefix+"/"+path, nil)
	req.Header.Set("Authorization", "Bearer "+t.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		fail("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		fail("GET %s: %s: %s", path, res.Status, body)
	}
	return body
}

func (t *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tile := range tiles {
		out[i] = t.get(strings.Replace(tile.Path(), "tile/8/", "tile/", 1))
	}
	return out, nil
}

func (t *tileReader) SaveTiles([]tlog.Tile, [][]byte) {}
