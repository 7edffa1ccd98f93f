package kmod

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// MaxModuleFile bounds how much of a module file is read (the largest
// in-tree modules are tens of MiB).
const MaxModuleFile = 256 << 20

// File is what vigil reads from a module's .ko file.
type File struct {
	Path string `json:"path"`
	// SHA256 is the hash of the file as it is stored, compressed or not:
	// the bytes finit_module reads from its descriptor.
	SHA256 string `json:"sha256"`
	// Compression is "", "gzip", "xz" or "zstd", from the file's name.
	Compression string `json:"compression,omitempty"`
	// Signature is the appended signature, when the (decompressed) image
	// carries one and vigil can decompress it.
	Signature *Signature `json:"signature,omitempty"`
	// Modinfo is the .modinfo section's key=value strings; a key given
	// more than once (depends, alias) keeps its values joined by ",".
	Modinfo map[string]string `json:"modinfo,omitempty"`
	// Unread says what vigil could not read of the file, or "".
	Unread string `json:"unread,omitempty"`
}

// Compression is the compression a module file's name says: the kernel
// build's CONFIG_MODULE_COMPRESS_* suffixes.
func Compression(path string) string {
	switch {
	case strings.HasSuffix(path, ".ko.gz"):
		return "gzip"
	case strings.HasSuffix(path, ".ko.xz"):
		return "xz"
	case strings.HasSuffix(path, ".ko.zst"):
		return "zstd"
	}
	return ""
}

// NameOfPath is the module name a .ko path gives: the file name without
// its .ko[.gz|.xz|.zst] suffix, '-' read as '_' as the kernel does.
func NameOfPath(path string) string {
	base := path[strings.LastIndexByte(path, '/')+1:]
	for _, suf := range []string{".ko.gz", ".ko.xz", ".ko.zst", ".ko"} {
		if strings.HasSuffix(base, suf) {
			base = strings.TrimSuffix(base, suf)
			break
		}
	}
	return strings.ReplaceAll(base, "-", "_")
}

// ReadFile hashes the module file at path and reads its signature and
// .modinfo. Only errors opening or reading the file are returned; what
// cannot be parsed is said in File.Unread.
func ReadFile(path string) (File, error) {
	f, err := os.Open(path)
	if err != nil {
		return File{}, err
	}
	raw, err := io.ReadAll(io.LimitReader(f, MaxModuleFile+1))
	_ = f.Close() // read-only: a close error loses nothing
	if err != nil {
		return File{}, fmt.Errorf("read %s: %w", path, err)
	}
	if len(raw) > MaxModuleFile {
		return File{}, fmt.Errorf("%s: larger than %d bytes", path, MaxModuleFile)
	}
	sum := sha256.Sum256(raw)
	out := File{Path: path, SHA256: hex.EncodeToString(sum[:]), Compression: Compression(path)}
	image := raw
	switch out.Compression {
	case "gzip":
		if image, err = gunzip(raw); err != nil {
			out.Unread = fmt.Sprintf("gzip: %v", err)
			return out, nil
		}
	case "xz", "zstd":
		// the signature and .modinfo are inside the compressed stream,
		// and vigil carries no xz or zstd decoder
		out.Unread = out.Compression + "-compressed: signature and modinfo not read"
		return out, nil
	}
	var unread []string
	sig, err := ReadSignature(image)
	switch {
	case err == nil:
		out.Signature = &sig
		image = image[:sig.Offset]
	case !errors.Is(err, ErrNoSignature):
		unread = append(unread, err.Error())
		if sig.IDType != "" {
			out.Signature = &sig
		}
	}
	if out.Modinfo, err = Modinfo(image); err != nil {
		unread = append(unread, err.Error())
	}
	out.Unread = strings.Join(unread, "; ")
	return out, nil
}

func gunzip(raw []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxModuleFile+1))
	if err != nil {
		return nil, err
	}
	if len(out) > MaxModuleFile {
		return nil, fmt.Errorf("decompresses to more than %d bytes", MaxModuleFile)
	}
	return out, nil
}

// Modinfo reads the .modinfo section of an ELF module image: NUL-separated
// key=value strings.
func Modinfo(image []byte) (map[string]string, error) {
	ef, err := elf.NewFile(bytes.NewReader(image))
	if err != nil {
		return nil, fmt.Errorf("modinfo: %w", err)
	}
	sec := ef.Section(".modinfo")
	if sec == nil {
		return nil, errors.New("modinfo: no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, fmt.Errorf("modinfo: %w", err)
	}
	return ParseModinfo(data), nil
}

// ParseModinfo parses NUL-separated key=value strings; a key given more
// than once keeps its values joined by ",".
func ParseModinfo(data []byte) map[string]string {
	out := map[string]string{}
	for s := range bytes.SplitSeq(data, []byte{0}) {
		if k, v, ok := strings.Cut(string(s), "="); ok && k != "" {
			add(out, k, v)
		}
	}
	return out
}

// ParseBuiltinModinfo parses modules.builtin.modinfo: NUL-separated
// "module.key=value" strings, by module.
func ParseBuiltinModinfo(data []byte) map[string]map[string]string {
	out := map[string]map[string]string{}
	for s := range bytes.SplitSeq(data, []byte{0}) {
		mk, v, ok := strings.Cut(string(s), "=")
		if !ok {
			continue
		}
		mod, k, ok := strings.Cut(mk, ".")
		if !ok || mod == "" || k == "" {
			continue
		}
		if out[mod] == nil {
			out[mod] = map[string]string{}
		}
		add(out[mod], k, v)
	}
	return out
}

func add(m map[string]string, k, v string) {
	if old, dup := m[k]; dup {
		v = old + "," + v
	}
	m[k] = v
}
