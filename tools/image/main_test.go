package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func testOptions() Options {
	return Options{Binary: []byte("#!fake vigil binary\n"), Tag: "vigil:test", Version: "v0-test",
		Epoch: time.Unix(1796000000, 0).UTC(), Arch: "amd64", CABundle: []byte("-----BEGIN CERTIFICATE-----\nfake\n")}
}

// Two builds of the same input are the same bytes: the image is
// reproducible.
func TestImageIsReproducible(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.tar"), filepath.Join(dir, "b.tar")
	idA, err := Write(a, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	idB, err := Write(b, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	ba, _ := os.ReadFile(a)
	bb, _ := os.ReadFile(b)
	if idA != idB || !bytes.Equal(ba, bb) {
		t.Fatalf("two builds differ: ids %s and %s, %d and %d bytes", idA, idB, len(ba), len(bb))
	}
	o := testOptions()
	o.Binary = []byte("another binary")
	idC, err := Write(filepath.Join(dir, "c.tar"), o)
	if err != nil {
		t.Fatal(err)
	}
	if idC == idA {
		t.Fatal("a different binary gave the same image id")
	}
}

// The archive reads back as an image whose layer holds the binary,
// executable, at /usr/bin/vigil, and whose entrypoint runs it.
func TestImageContent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "img.tar")
	if _, err := Write(path, testOptions()); err != nil {
		t.Fatal(err)
	}
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != "/usr/bin/vigil" {
		t.Errorf("entrypoint %q", got)
	}
	if cf.Architecture != "amd64" || cf.OS != "linux" || !cf.Created.Equal(testOptions().Epoch) {
		t.Errorf("config: %s/%s created %v", cf.OS, cf.Architecture, cf.Created)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers: %d, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	found, ca := false, false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if !h.ModTime.Equal(testOptions().Epoch) || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("%s: mtime %v uid %d gid %d", h.Name, h.ModTime, h.Uid, h.Gid)
		}
		if h.Name == "usr/bin/vigil" {
			data, _ := io.ReadAll(tr)
			found = bytes.Equal(data, testOptions().Binary) && h.Mode == 0o755
		}
		if h.Name == "etc/ssl/certs/ca-certificates.crt" {
			data, _ := io.ReadAll(tr)
			ca = bytes.Equal(data, testOptions().CABundle) && h.Mode == 0o644
		}
	}
	if !ca {
		t.Error("etc/ssl/certs/ca-certificates.crt missing, changed or not 0644")
	}
	if !found {
		t.Error("usr/bin/vigil missing, changed or not 0755")
	}
}
