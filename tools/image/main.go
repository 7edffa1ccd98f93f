// Command image writes vigil's container image as a docker-archive tarball
// (what `ctr image import`, `docker load` and `podman load` read) with no
// registry and no container engine: one layer holding the static binary and
// the directories the agent writes to, built from nothing (like FROM
// scratch).
//
// The output is reproducible: every file in the layer has the same owner,
// mode and modification time (the -epoch, the commit's time in `make
// image`), entries are in a fixed order, gzip writes no name or time, and
// the image config's dates are the epoch too. The same binary and flags
// give the same bytes.
//
// The default rule pack is embedded in the binary (package rules), so the
// image needs no rule files; /etc/vigil/rules.d and policies.d are empty
// directories for the ones a deployment mounts.
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// Options say what goes into the image.
type Options struct {
	Binary  []byte    // the static vigil binary
	Tag     string    // e.g. vigil:dev
	Version string    // the org.opencontainers.image.version label
	Epoch   time.Time // every date in the image
	Arch    string    // GOARCH of the binary
	// CABundle, when set, is the PEM bundle of CAs installed as
	// /etc/ssl/certs/ca-certificates.crt, where Go's crypto/x509 finds the
	// system pool (https webhooks, syslog over TLS); `make image` takes
	// Debian's (package ca-certificates), so the image is reproducible for
	// one version of that package.
	CABundle []byte
}

func main() {
	binary := flag.String("binary", "bin/vigil-static", "the static vigil binary (CGO_ENABLED=0)")
	tag := flag.String("tag", "vigil:dev", "image name and tag")
	out := flag.String("o", "bin/vigil-image.tar", "where to write the docker-archive tarball")
	version := flag.String("version", "dev", "version label")
	epoch := flag.Int64("epoch", 0, "seconds since 1970 for every date in the image (SOURCE_DATE_EPOCH)")
	arch := flag.String("arch", "amd64", "architecture of the binary")
	caBundle := flag.String("ca-bundle", "", "PEM file of CAs to install as /etc/ssl/certs/ca-certificates.crt (none when empty)")
	flag.Parse()
	bin, err := os.ReadFile(*binary)
	if err != nil {
		fatal(err)
	}
	opts := Options{Binary: bin, Tag: *tag, Version: *version, Epoch: time.Unix(*epoch, 0).UTC(), Arch: *arch}
	if *caBundle != "" {
		if opts.CABundle, err = os.ReadFile(*caBundle); err != nil {
			fatal(err)
		}
	}
	id, err := Write(*out, opts)
	if err != nil {
		fatal(err)
	}
	fmt.Printf("%s: %s, image id %s\n", *out, *tag, id)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "image:", err)
	os.Exit(1)
}

// Write builds the image and writes it to path, returning its config
// digest (the image id).
func Write(path string, o Options) (string, error) {
	img, ref, err := Build(o)
	if err != nil {
		return "", err
	}
	tmp := path + ".tmp"
	if err := tarball.WriteToFile(tmp, ref, img); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return "", err
	}
	id, err := img.ConfigName()
	if err != nil {
		return "", err
	}
	return id.String(), nil
}

// Build makes the image and its reference.
func Build(o Options) (v1.Image, name.Tag, error) {
	ref, err := name.NewTag(o.Tag)
	if err != nil {
		return nil, name.Tag{}, fmt.Errorf("tag %q: %w", o.Tag, err)
	}
	layerTar, err := rootfs(o)
	if err != nil {
		return nil, name.Tag{}, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	})
	if err != nil {
		return nil, name.Tag{}, err
	}
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: o.Epoch}, CreatedBy: "vigil tools/image", Comment: "static vigil binary"}})
	if err != nil {
		return nil, name.Tag{}, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, name.Tag{}, err
	}
	cf = cf.DeepCopy()
	cf.Architecture, cf.OS = o.Arch, "linux"
	cf.Created = v1.Time{Time: o.Epoch}
	cf.Config = v1.Config{
		Entrypoint: []string{"/usr/bin/vigil"},
		Cmd:        []string{"run"},
		Env:        []string{"PATH=/usr/bin"},
		WorkingDir: "/",
		Labels: map[string]string{
			"org.opencontainers.image.title":   "vigil",
			"org.opencontainers.image.version": o.Version,
			"org.opencontainers.image.created": o.Epoch.Format(time.RFC3339),
		},
	}
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, name.Tag{}, err
	}
	return img, ref, nil
}

// entry is one file or directory of the layer.
type entry struct {
	name string
	mode int64
	dir  bool
	data []byte
}

// rootfs is the layer's tar: parents before children, in this fixed
// order, all owned by root with the epoch as their time.
func rootfs(o Options) ([]byte, error) {
	entries := []entry{
		{name: "etc/", mode: 0o755, dir: true},
	}
	if o.CABundle != nil {
		entries = append(entries,
			entry{name: "etc/ssl/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/", mode: 0o755, dir: true},
			entry{name: "etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: o.CABundle})
	}
	entries = append(entries, []entry{
		{name: "etc/vigil/", mode: 0o755, dir: true},
		{name: "etc/vigil/policies.d/", mode: 0o755, dir: true},
		{name: "etc/vigil/rules.d/", mode: 0o755, dir: true},
		{name: "run/", mode: 0o755, dir: true},
		{name: "run/vigil/", mode: 0o700, dir: true},
		{name: "tmp/", mode: 0o1777, dir: true},
		{name: "usr/", mode: 0o755, dir: true},
		{name: "usr/bin/", mode: 0o755, dir: true},
		{name: "usr/bin/vigil", mode: 0o755, data: o.Binary},
		{name: "var/", mode: 0o755, dir: true},
		{name: "var/lib/", mode: 0o755, dir: true},
		{name: "var/lib/vigil/", mode: 0o700, dir: true},
	}...)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Mode: e.mode, ModTime: o.Epoch, Format: tar.FormatPAX,
			Uname: "root", Gname: "root", Typeflag: tar.TypeReg, Size: int64(len(e.data))}
		if e.dir {
			h.Typeflag, h.Size = tar.TypeDir, 0
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(e.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
