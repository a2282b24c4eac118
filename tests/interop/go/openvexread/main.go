// openvexread reads an OpenVEX 0.2.0 document with the OpenVEX project's own
// Go library (github.com/openvex/go-vex, pinned in ../go.mod) and prints a
// canonical JSON summary of what that third-party reader understood, so a test
// can compare it with what Evident meant to say.
//
// Usage:
//
//	openvexread [-strict] [-any-version] FILE|-
//
// Output (one JSON object on stdout, keys sorted, every key always present):
//
//	{"author":..., "context":..., "id":..., "role":..., "timestamp":...,
//	 "version":N, "statement_errors":[...],
//	 "statements":[{"vulnerability":{"name","@id","aliases"},
//	   "products":[{"@id","identifiers":{"purl"|"cpe22"|"cpe23":...},
//	                "hashes":{...},"subcomponents":[{"@id","identifiers","hashes"}]}],
//	   "status","justification","impact_statement","action_statement",
//	   "status_notes","timestamp"}]}
//
// Timestamps are RFC 3339 in UTC ("" when absent). Statements keep document
// order. statement_errors holds go-vex's own Statement.Validate() verdicts
// ("statements[i]: reason").
//
// Exit status: 0 read and every statement valid; 1 the file cannot be read or
// parsed (nothing is printed on stdout, the reason goes to stderr); 2 parsed but
// go-vex's Statement.Validate rejected a statement, or the document is not
// OpenVEX 0.2.0 (its @context is not https://openvex.dev/ns/v0.2.0).
//
// -strict also rejects (exit 1) any JSON member go-vex does not know: go-vex
// itself silently drops unknown members, so a misspelt key would otherwise pass.
// -any-version reads older OpenVEX documents through go-vex's vex.Open, which
// upgrades them to 0.2.0.
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/openvex/go-vex/pkg/vex"
)

func main() {
	strict := flag.Bool("strict", false, "reject JSON members that go-vex does not know")
	anyVersion := flag.Bool("any-version", false, "accept pre-0.2.0 OpenVEX via vex.Open (legacy upgrade)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: openvexread [-strict] [-any-version] FILE|-")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(64)
	}
	path := flag.Arg(0)

	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		fail("reading %s: %v", path, err)
	}

	var doc *vex.VEX
	switch {
	case *anyVersion && path != "-":
		doc, err = vex.Open(path)
	case *strict:
		doc = &vex.VEX{}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		err = dec.Decode(doc)
		if err == nil && dec.More() {
			err = fmt.Errorf("trailing data after the JSON document")
		}
	default:
		doc, err = vex.Parse(data)
	}
	if err != nil {
		fail("parsing %s with go-vex: %v", path, err)
	}

	exit := 0
	stmtErrors := []any{}
	if !*anyVersion && doc.Context != vex.ContextLocator() {
		stmtErrors = append(stmtErrors, fmt.Sprintf("@context is %q, not %q", doc.Context, vex.ContextLocator()))
		exit = 2
	}
	statements := []any{}
	for i := range doc.Statements {
		s := &doc.Statements[i]
		if verr := s.Validate(); verr != nil {
			stmtErrors = append(stmtErrors, fmt.Sprintf("statements[%d]: %v", i, verr))
			exit = 2
		}
		statements = append(statements, statement(s))
	}

	out := map[string]any{
		"context":          doc.Context,
		"id":               doc.ID,
		"author":           doc.Author,
		"role":             doc.AuthorRole,
		"timestamp":        ts(doc.Timestamp),
		"version":          doc.Version,
		"statements":       statements,
		"statement_errors": stmtErrors,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fail("encoding summary: %v", err)
	}
	os.Exit(exit)
}

func statement(s *vex.Statement) map[string]any {
	aliases := []any{}
	for _, a := range s.Vulnerability.Aliases {
		aliases = append(aliases, string(a))
	}
	products := []any{}
	for i := range s.Products {
		p := &s.Products[i]
		subs := []any{}
		for j := range p.Subcomponents {
			subs = append(subs, component(&p.Subcomponents[j].Component))
		}
		m := component(&p.Component)
		m["subcomponents"] = subs
		products = append(products, m)
	}
	return map[string]any{
		"vulnerability": map[string]any{
			"name":    string(s.Vulnerability.Name),
			"@id":     s.Vulnerability.ID,
			"aliases": aliases,
		},
		"products":         products,
		"status":           string(s.Status),
		"justification":    string(s.Justification),
		"impact_statement": s.ImpactStatement,
		"action_statement": s.ActionStatement,
		"status_notes":     s.StatusNotes,
		"timestamp":        ts(s.Timestamp),
	}
}

func component(c *vex.Component) map[string]any {
	ids := map[string]any{}
	for k, v := range c.Identifiers {
		ids[string(k)] = v
	}
	hashes := map[string]any{}
	for k, v := range c.Hashes {
		hashes[string(k)] = string(v)
	}
	return map[string]any{"@id": c.ID, "identifiers": ids, "hashes": hashes}
}

func ts(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "openvexread: "+format+"\n", args...)
	os.Exit(1)
}
