package confwatch

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/testenv"
)

// A ConfigMap-style swap of ..data is seen: the watcher signals, though no
// visible file was written.
func TestWatcherSeesConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	testenv.ConfigMapUpdate(t, dir, map[string]string{"a.yaml": "one"})
	w, err := New([]string{dir, filepath.Join(t.TempDir(), "not-yet", "x.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	w.Debounce, w.Poll = 20*time.Millisecond, time.Hour
	signals := make(chan struct{}, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx, func() { signals <- struct{}{} }) }()
	defer func() { cancel(); <-done }()

	testenv.ConfigMapUpdate(t, dir, map[string]string{"a.yaml": "two"})
	select {
	case <-signals:
	case <-time.After(testenv.WaitLimit):
		t.Fatal("no signal after a ..data swap")
	}
	data, err := os.ReadFile(filepath.Join(dir, "a.yaml"))
	if err != nil || string(data) != "two" {
		t.Fatalf("a.yaml after the swap: %q, %v", data, err)
	}
}

// The poll backstop signals with no change at all.
func TestWatcherPolls(t *testing.T) {
	w, err := New([]string{t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w.Poll = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func() {
			select {
			case got <- struct{}{}:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case <-got:
	case <-time.After(testenv.WaitLimit):
		t.Fatal("no poll signal")
	}
}

func TestMain(m *testing.M) { testenv.Main(m) }

func TestFingerprint(t *testing.T) {
	a := Fingerprint([]string{"x", "y"}, [][]byte{[]byte("1"), []byte("2")})
	if a != Fingerprint([]string{"x", "y"}, [][]byte{[]byte("1"), []byte("2")}) {
		t.Fatal("not stable")
	}
	// moving a byte from one file to the next name is a change
	if a == Fingerprint([]string{"x", "y"}, [][]byte{[]byte("12"), []byte("")}) {
		t.Fatal("content moved across files gave the same fingerprint")
	}
}
