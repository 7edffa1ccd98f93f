package file

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/vigil-sec/vigil/internal/output"
)

// compressor gzips rotated backups on a goroutine of its own, one at a
// time, so that writing never waits for it. A backup is compressed under a
// temporary name (path.N.gz.tmp) and renamed when done, so a reader never
// sees half of one. Rotations that happen meanwhile move the backup being
// compressed (and those queued) up by one; the compressor follows them,
// and the final rename, taken under the sink's lock, uses the backup's
// number at that moment. Its fields are guarded by the sink's lock.
type compressor struct {
	s *Sink
	// queue holds the numbers of plain backups to compress, oldest first
	queue []int
	// active is the number of the backup being compressed, 0 if none
	active int
	// err is the last failure not yet reported by a Write or Flush
	err      error
	failures uint64
	idle     *sync.Cond // broadcast when a compression ends
	wake     chan struct{}
	quit     chan struct{}
	done     chan struct{}
	once     sync.Once
}

// errStopped ends a compression at Close; the backup stays plain.
var errStopped = errors.New("stopped")

func newCompressor(s *Sink) *compressor {
	c := &compressor{s: s, idle: sync.NewCond(&s.mu), wake: make(chan struct{}, 1),
		quit: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

// resume queues the plain backups an earlier run left (stopped at Close,
// or failed), and removes temporary files it left.
func (c *compressor) resume() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	var found []int
	for i := 1; i <= c.s.opts.MaxBackups; i++ {
		plain, gz := exists(c.s.backup(i, false)), exists(c.s.backup(i, true))
		if !plain && !gz {
			break
		}
		_ = os.Remove(c.s.backup(i, true) + ".tmp") // usually absent
		if plain {
			found = append(found, i)
		}
	}
	for j := len(found) - 1; j >= 0; j-- {
		c.add(found[j])
	}
}

// add queues backup i. Called with the lock held.
func (c *compressor) add(i int) {
	if c == nil {
		return
	}
	c.queue = append(c.queue, i)
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// moved follows a backup renamed from number from to number to (past
// MaxBackups: removed). Called with the lock held.
func (c *compressor) moved(from, to int) {
	if c == nil {
		return
	}
	if c.active == from {
		c.active = to
	}
	q := c.queue[:0]
	for _, i := range c.queue {
		if i == from {
			i = to
		}
		if i <= c.s.opts.MaxBackups {
			q = append(q, i)
		}
	}
	c.queue = q
}

// takeError returns the last failure, once. Called with the lock held.
func (c *compressor) takeError() error {
	if c == nil || c.err == nil {
		return nil
	}
	err := c.err
	c.err = nil
	return &output.RecoveredError{Err: err}
}

// stop ends the goroutine: a compression under way is abandoned (its
// temporary file removed), and the queue is left for the next Open.
func (c *compressor) stop() {
	if c == nil {
		return
	}
	c.once.Do(func() { close(c.quit) })
	<-c.done
}

// waitIdle waits until nothing is queued or under way; for tests.
func (c *compressor) waitIdle() {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for len(c.queue) > 0 || c.active != 0 {
		c.idle.Wait()
	}
}

func (c *compressor) run() {
	defer close(c.done)
	for {
		select {
		case <-c.quit:
			return
		case <-c.wake:
		}
		for c.running() {
			if !c.next() {
				break
			}
		}
	}
}

// running is false once stop was called: what is still queued waits for
// the next start (resume).
func (c *compressor) running() bool {
	select {
	case <-c.quit:
		return false
	default:
		return true
	}
}

// next compresses the oldest queued backup; false when there was none.
func (c *compressor) next() bool {
	s := c.s
	s.mu.Lock()
	if len(c.queue) == 0 {
		c.idle.Broadcast()
		s.mu.Unlock()
		return false
	}
	i := c.queue[0]
	c.queue = c.queue[1:]
	src := s.backup(i, false)
	// opened under the lock: a rotation cannot move another file there
	// between choosing the name and opening it
	in, err := os.Open(src)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			c.failed(fmt.Errorf("compress %s: %w (kept uncompressed)", src, err))
		}
		c.idle.Broadcast()
		s.mu.Unlock()
		return true
	}
	c.active = i
	tmp := s.backup(i, true) + ".tmp"
	s.mu.Unlock()

	if h := s.opts.hooks.beforeCompress; h != nil {
		h(i)
	}
	err = c.compress(in, tmp)

	s.mu.Lock()
	defer s.mu.Unlock()
	defer c.idle.Broadcast()
	i, c.active = c.active, 0
	switch {
	case errors.Is(err, errStopped):
		_ = os.Remove(tmp) // resume removes what is left
	case err != nil:
		_ = os.Remove(tmp) // resume removes what is left
		c.failed(fmt.Errorf("compress %s: %w (kept uncompressed)", s.backup(i, false), err))
	case i > s.opts.MaxBackups:
		_ = os.Remove(tmp) // rotated out meanwhile; resume removes what is left
	default:
		if err := os.Rename(tmp, s.backup(i, true)); err != nil {
			_ = os.Remove(tmp) // resume removes what is left
			c.failed(fmt.Errorf("compress %s: %w (kept uncompressed)", s.backup(i, false), err))
			break
		}
		_ = os.Remove(s.backup(i, false)) // if left, resume compresses it again
	}
	return true
}

func (c *compressor) failed(err error) {
	c.failures++
	c.err = err
}

// compress writes in gzipped to tmp, giving up when the compressor stops.
func (c *compressor) compress(in *os.File, tmp string) (err error) {
	defer func() { _ = in.Close() }() // read-only
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, Mode)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := out.Close(); err == nil {
			err = cerr
		}
	}()
	zw := gzip.NewWriter(out)
	buf := make([]byte, 256<<10)
	for {
		select {
		case <-c.quit:
			return errStopped
		default:
		}
		n, rerr := in.Read(buf)
		if n > 0 {
			if _, err := zw.Write(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	return zw.Close()
}

// CompressionFailures is how many backups could not be compressed.
func (s *Sink) CompressionFailures() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gz == nil {
		return 0
	}
	return s.gz.failures
}
