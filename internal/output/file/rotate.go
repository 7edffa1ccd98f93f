package file

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

// rotate closes the current file, shifts the backups up by one (dropping
// the oldest), moves the file to path.1, compresses it if asked, and opens
// a fresh file. It runs between two lines, with the lock held.
func (s *Sink) rotate() error {
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", s.opts.Path, err)
	}
	if err := s.f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", s.opts.Path, err)
	}
	s.f = nil
	if err := s.shiftBackups(); err != nil {
		// keep writing to the same file rather than lose lines
		return errors.Join(err, s.open())
	}
	if err := s.open(); err != nil {
		return err
	}
	s.rotations++
	if s.opts.Compress && s.opts.MaxBackups > 0 {
		if err := compress(s.backup(1, false), s.backup(1, true)); err != nil {
			return fmt.Errorf("compress rotated file: %w", err)
		}
	}
	return nil
}

// backup names the i-th backup: path.i or path.i.gz.
func (s *Sink) backup(i int, gz bool) string {
	name := s.opts.Path + "." + strconv.Itoa(i)
	if gz {
		name += ".gz"
	}
	return name
}

// shiftBackups makes room for path.1. Both the plain and the compressed
// name are handled, so that turning compression on or off keeps counting
// the older backups.
func (s *Sink) shiftBackups() error {
	keep := s.opts.MaxBackups
	if keep == 0 {
		return removeIfExists(s.opts.Path)
	}
	for _, gz := range []bool{false, true} {
		if err := removeIfExists(s.backup(keep, gz)); err != nil {
			return err
		}
	}
	// only the backups that exist move: counting up to the first gap
	// keeps a large MaxBackups cheap
	top := 1
	for top < keep && (exists(s.backup(top, false)) || exists(s.backup(top, true))) {
		top++
	}
	for i := top - 1; i >= 1; i-- {
		for _, gz := range []bool{false, true} {
			err := os.Rename(s.backup(i, gz), s.backup(i+1, gz))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("rotate: %w", err)
			}
		}
	}
	if err := os.Rename(s.opts.Path, s.backup(1, false)); err != nil {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate: %w", err)
	}
	return nil
}

// compress writes src gzipped to dst (through a temporary name, so that a
// reader never sees half a file) and removes src.
func compress(src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := dst + ".tmp"
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, Mode)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(out)
	if _, err = io.Copy(zw, in); err != nil {
		return err
	}
	if err = zw.Close(); err != nil {
		return err
	}
	if err = out.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, dst); err != nil {
		return err
	}
	return os.Remove(src)
}
