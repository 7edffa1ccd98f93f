package kmod

import (
	"os"
	"testing"
)

// BenchmarkReadFixture: the fixture tree, five loaded modules whose files
// are hashed and parsed.
func BenchmarkReadFixture(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Read("testdata/root", Options{})
	}
}

// BenchmarkReadFixtureNoFiles: the same without the files, the baseline.
func BenchmarkReadFixtureNoFiles(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Read("testdata/root", Options{NoFiles: true})
	}
}

// BenchmarkReadLive: this machine's inventory.
func BenchmarkReadLive(b *testing.B) {
	if _, err := os.Stat("/sys/module"); err != nil {
		b.Skip("no /sys/module")
	}
	b.ReportAllocs()
	for b.Loop() {
		Read("/", Options{})
	}
}
