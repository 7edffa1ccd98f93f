package pinned

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// linkDir holds the pinned links, one file per attachment.
func linkDir(dir string) string { return filepath.Join(dir, "links") }

// PinLink pins l as name, replacing what was pinned under that name: l is
// attached before the old link is detached, so enforcement never lapses
// (for a moment both programs run). The caller keeps l open or closes it;
// the pin keeps it attached either way.
func PinLink(dir, name string, l link.Link) error {
	// bpffs refuses names with a dot, so the new pin waits in a
	// directory of its own before it takes the old one's place
	pending := filepath.Join(dir, "links_pending")
	for _, d := range []string{linkDir(dir), pending} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return fmt.Errorf("pin directory: %w", err)
		}
	}
	path := filepath.Join(linkDir(dir), name)
	tmp := filepath.Join(pending, name)
	_ = os.Remove(tmp) // a stale pending pin, if any; Pin reports what matters
	if err := l.Pin(tmp); err != nil {
		return fmt.Errorf("pin link %s: %w", name, err)
	}
	old, err := link.LoadPinnedLink(path, nil)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		_ = l.Unpin() // best effort: err is what failed
		return fmt.Errorf("open pinned link %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = l.Unpin() // best effort: err is what failed
		if old != nil {
			_ = old.Close()
		}
		return fmt.Errorf("pin link %s: %w", name, err)
	}
	// the old pin is gone, but the kernel releases it only after a grace
	// period: detach the old link now that the new one is in place
	if old != nil {
		defer func() { _ = old.Close() }() // the fd only: Detach reports
		if err := old.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("detach replaced link %s: %w", name, err)
		}
	}
	return nil
}

// LoadLink opens the link pinned as name; the error wraps os.ErrNotExist
// when there is none.
func LoadLink(dir, name string) (link.Link, error) {
	return link.LoadPinnedLink(filepath.Join(linkDir(dir), name), nil)
}

// UnpinLink detaches the link pinned as name and removes its pin; a
// missing pin is not an error. Removing a pin alone detaches the link only
// once the kernel releases the pin (after an RCU grace period, from a work
// queue), so the link is detached first: enforcement has ended when
// UnpinLink returns.
func UnpinLink(dir, name string) error {
	path := filepath.Join(linkDir(dir), name)
	l, err := link.LoadPinnedLink(path, nil)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open pinned link %s: %w", name, err)
	}
	defer func() { _ = l.Close() }() // the fd only: Detach reports
	if err := l.Detach(); err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
		return fmt.Errorf("detach %s: %w", name, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("unpin %s: %w", name, err)
	}
	return nil
}

// Links lists the names of the pinned links.
func Links(dir string) ([]string, error) {
	entries, err := os.ReadDir(linkDir(dir))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// Remove unpins everything under dir, links first (which detaches the
// programs: enforcement ends here) and then the maps, and removes dir. A
// dir that does not exist is not an error.
func Remove(dir string) error {
	names, err := Links(dir)
	if err != nil {
		return fmt.Errorf("unpin links: %w", err)
	}
	for _, name := range names {
		if err := UnpinLink(dir, name); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(dir, "links_pending")); err != nil {
		return fmt.Errorf("unpin links: %w", err)
	}
	if err := os.RemoveAll(linkDir(dir)); err != nil {
		return fmt.Errorf("unpin links: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("unpin maps: %w", err)
	}
	return nil
}
