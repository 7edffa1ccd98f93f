package execguard

import (
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestKernelDev(t *testing.T) {
	if got := KernelDev(unix.Mkdev(254, 3)); got != 254<<20|3 {
		t.Errorf("KernelDev(254:3) = %#x, want %#x", got, 254<<20|3)
	}
	if got := KernelDev(unix.Mkdev(0, 300)); got != 300 {
		t.Errorf("KernelDev(0:300) = %#x, want 300", got)
	}
}

func TestParseFdinfo(t *testing.T) {
	mnt, ino, err := parseFdinfo([]byte("pos:\t0\nflags:\t012100000\nmnt_id:\t27\nino:\t247849\n"))
	if err != nil || mnt != 27 || ino != 247849 {
		t.Errorf("parseFdinfo = %d, %d, %v; want 27, 247849", mnt, ino, err)
	}
	if _, _, err := parseFdinfo([]byte("pos:\t0\n")); err == nil {
		t.Error("fdinfo without mnt_id and ino accepted")
	}
}

func TestMountDev(t *testing.T) {
	mi := []byte("22 27 0:21 / /proc rw,relatime - proc proc rw\n" +
		"27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n" +
		"40 27 0:45 / /var/lib/docker/overlay2/x/merged rw - overlay overlay rw,lowerdir=a\n")
	for mnt, want := range map[int]uint32{27: 254 << 20, 40: 45, 22: 21} {
		if got, err := mountDev(mi, mnt); err != nil || got != want {
			t.Errorf("mountDev(%d) = %#x, %v; want %#x", mnt, got, err, want)
		}
	}
	if _, err := mountDev(mi, 99); err == nil {
		t.Error("a mount that is not listed was found")
	}
	if _, err := mountDev([]byte("5 1 x / / rw - ext4 a rw\n"), 5); err == nil {
		t.Error("a malformed device was accepted")
	}
}

// TestResolveAgreesWithStat: on a plain filesystem the kernel's view and
// stat's agree; Resolve follows symlinks and refuses what cannot be run.
func TestResolveAgreesWithStat(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	if err := os.WriteFile(path, []byte("x"), 0o755); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "l")
	if err := os.Symlink(path, link); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, link} {
		key, err := Resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		if key.Dev != KernelDev(st.Dev) || key.Ino != st.Ino || key.Pad != 0 {
			t.Errorf("Resolve(%s) = %+v, want %d:%d", p, key, KernelDev(st.Dev), st.Ino)
		}
	}
	if _, err := Resolve(dir); err == nil {
		t.Error("a directory resolved")
	}
	if _, err := Resolve(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

// selfHold describes the test process as if the kernel had held it.
func selfHold(t *testing.T) Hold {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	key, err := Resolve(self)
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(self, &st); err != nil {
		t.Fatal(err)
	}
	return Hold{PID: uint32(os.Getpid()), Key: key, Stamp: Stamp{
		MtimeSec: st.Mtim.Sec, MtimeNsec: uint32(st.Mtim.Nsec),
		CtimeSec: st.Ctim.Sec, CtimeNsec: uint32(st.Ctim.Nsec), Size: st.Size,
	}}
}

// TestHasherChecksIdentity: the hash is that of the running executable,
// cached by version; a hold naming another file or version is refused.
func TestHasherChecksIdentity(t *testing.T) {
	h := selfHold(t)
	self, _ := os.Executable()
	want := fileSum(t, self)
	hs := NewHasher(1)
	for range 2 { // the second answer comes from the cache
		got, err := hs.Hash(h)
		if err != nil || got != want {
			t.Fatalf("Hash = %x, %v; want %x", got, err, want)
		}
	}
	if hs.Len() != 1 {
		t.Errorf("cache holds %d, want 1", hs.Len())
	}
	other := h
	other.Key.Ino++
	if _, err := hs.Hash(other); !errors.Is(err, ErrNotHeldFile) {
		t.Errorf("another inode: %v, want ErrNotHeldFile", err)
	}
	changed := h
	changed.Stamp.CtimeNsec ^= 1
	if _, err := hs.Hash(changed); !errors.Is(err, ErrNotHeldFile) {
		t.Errorf("another version: %v, want ErrNotHeldFile", err)
	}
	if hs.Len() != 1 {
		t.Errorf("cache holds %d after refusals, want 1", hs.Len())
	}
	var zero [sha256.Size]byte
	gone := h
	gone.PID = 1 << 30
	if got, err := hs.Hash(gone); err == nil || got != zero {
		t.Errorf("a pid that does not exist: %x, %v", got, err)
	}
}
