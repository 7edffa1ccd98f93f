package yamldoc

import (
	"strings"
	"testing"
)

func TestDocuments(t *testing.T) {
	var got []string
	for doc, err := range Documents([]byte("a: 1\n---\nb: 2\n")) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, doc.Content[0].Content[0].Value)
	}
	if len(got) != 2 || got[0] != "a" || got[1] != "b" {
		t.Errorf("documents %q, want [a b]", got)
	}
}

func TestDocumentsStopsAtSyntaxError(t *testing.T) {
	n, errs := 0, 0
	for doc, err := range Documents([]byte("a: 1\n---\nb: [\n")) {
		if err != nil {
			errs++
			continue
		}
		if doc == nil {
			t.Fatal("nil document without an error")
		}
		n++
	}
	if n != 1 || errs != 1 {
		t.Errorf("%d documents and %d errors, want 1 and 1", n, errs)
	}
}

func TestDescribe(t *testing.T) {
	for text, want := range map[string]string{
		"a: 1":                   "a mapping",
		"[1, 2]":                 "a list",
		"~":                      "nothing",
		"x y":                    `"x y"`,
		strings.Repeat("é", 100): `"` + strings.Repeat("é", 40) + `"… (200 bytes in all)`,
	} {
		for doc, err := range Documents([]byte(text)) {
			if err != nil {
				t.Fatal(err)
			}
			if got := Describe(doc.Content[0]); got != want {
				t.Errorf("Describe(%s) = %s, want %s", text, got, want)
			}
		}
	}
}
