package intel

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
)

// synthValue is the i-th IOC of a synthetic feed of realistic mix: 40 %
// sha256, 10 % md5, 10 % sha1, 25 % addresses (mostly IPv4 /32, some
// with a port, some /24, some IPv6), 15 % domains.
func synthValue(i int) (misp, value string) {
	sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
	h := hex.EncodeToString(sum[:])
	a := uint32(0x0b000000) + uint32(i)*2654435761%0x3f000000 // 11.0.0.0 onwards
	v4 := netip.AddrFrom4([4]byte{byte(a >> 24), byte(a >> 16), byte(a >> 8), byte(a)})
	switch r := i % 20; {
	case r < 8:
		return "sha256", h
	case r < 10:
		return "md5", h[:32]
	case r < 12:
		return "sha1", h[:40]
	case r < 15:
		return "ip-dst", v4.String()
	case r == 15:
		return "ip-dst|port", v4.String() + "|" + strconv.Itoa(1024+i%60000)
	case r == 16:
		if i%40 == 16 {
			return "ip-src", netip.PrefixFrom(v4, 24).Masked().String()
		}
		return "ip-dst", netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 8: sum[0], sum[1], sum[2], sum[3], sum[4], sum[5], sum[6], sum[7]}).String()
	default:
		return "domain", h[:12] + ".bad-" + strconv.Itoa(i%997) + ".example"
	}
}

// writeSynthFeed writes a MISP feed directory of n attributes, 100 an
// event, the shape CIRCL's OSINT feed has.
func writeSynthFeed(tb testing.TB, dir string, n int) {
	manifest := map[string]any{}
	for e := 0; e*100 < n; e++ {
		uuid := uuidN("5", e)
		var attrs []attr
		for i := e * 100; i < min(n, (e+1)*100); i++ {
			typ, v := synthValue(i)
			attrs = append(attrs, attr{UUID: uuidN("6", i), Type: typ, Category: "Network activity", Value: v, ToIDs: true, Timestamp: "1700000000"})
		}
		ev := testEvent{UUID: uuid, Info: "Synthetic campaign " + strconv.Itoa(e), Timestamp: 1700000000,
			Tags: []string{"tlp:white", `misp-galaxy:mitre-attack-pattern="Ingress Tool Transfer - T1105"`}, Attrs: attrs}
		if err := os.WriteFile(filepath.Join(dir, uuid+".json"), eventJSON(ev), 0o600); err != nil {
			tb.Fatal(err)
		}
		manifest[uuid] = map[string]any{"info": ev.Info, "timestamp": ev.Timestamp, "Orgc": map[string]any{"name": "CIRCL"}}
	}
	raw, _ := json.Marshal(manifest)
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), raw, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// writeSynthList writes a plain list of n IOCs.
func writeSynthList(tb testing.TB, path string, n int) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriter(f)
	for i := range n {
		typ, v := synthValue(i)
		if typ == "ip-dst|port" {
			_, v, _ = cutLast(v, "|") // a list has no ports in this form
		}
		fmt.Fprintln(w, v)
	}
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

var sizes = []struct {
	name string
	n    int
}{{"10k", 10_000}, {"100k", 100_000}, {"1M", 1_000_000}}

// heapInUse is the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// cpuSeconds is the process's CPU time (user and system, every thread):
// on a shared machine it says what a load costs better than the wall
// clock does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// BenchmarkLoad loads synthetic sources from disk (read, parse, filter,
// index) and reports the heap the loaded set holds after GC and the
// estimate SourceStatus.Bytes gives.
func BenchmarkLoad(b *testing.B) {
	for _, kind := range []SourceKind{KindMISPFeed, KindList} {
		for _, sz := range sizes {
			b.Run(string(kind)+"/"+sz.name, func(b *testing.B) {
				dir := b.TempDir()
				loc := dir
				if kind == KindList {
					loc = filepath.Join(dir, "vh14f-list.txt")
					writeSynthList(b, loc, sz.n)
				} else {
					writeSynthFeed(b, dir, sz.n)
				}
				var heap, est, cpu float64
				b.ResetTimer()
				for range b.N {
					b.StopTimer()
					base := heapInUse()
					m := newTestManager(b, Options{}, SourceConfig{Name: "s", Kind: kind, URL: loc, Column: -1})
					cpu0 := cpuSeconds()
					b.StartTimer()
					mustRefresh(b, m, "s")
					b.StopTimer()
					cpu += cpuSeconds() - cpu0
					if got := m.Current().Len(); got < sz.n*9/10 {
						b.Fatalf("%d loaded of %d", got, sz.n)
					}
					// what stays: the set (the loader's cache is part of it)
					heap = float64(heapInUse()) - float64(base)
					est = float64(statusOf(b, m, "s").Bytes)
					runtime.KeepAlive(m)
					b.StartTimer()
				}
				b.ReportMetric(heap/float64(sz.n), "heap-B/ioc")
				b.ReportMetric(est/float64(sz.n), "est-B/ioc")
				b.ReportMetric(heap/(1<<20), "heap-MiB")
				b.ReportMetric(cpu/float64(b.N), "cpu-s/op")
			})
		}
	}
}

// loaded1M is a set of 1 M synthetic indicators.
func loaded1M(b *testing.B) *Set {
	dir := b.TempDir()
	path := filepath.Join(dir, "vh14f-1m.txt")
	writeSynthList(b, path, 1_000_000)
	m := newTestManager(b, Options{}, SourceConfig{Name: "s", Kind: KindList, URL: path, Column: -1})
	mustRefresh(b, m, "s")
	return m.Current()
}

// BenchmarkLookup: one lookup of each kind in a set of 1 M, hit and
// miss, against the same lookup in an empty set.
func BenchmarkLookup(b *testing.B) {
	full := loaded1M(b)
	empty := &Set{}
	_, hashHit := synthValue(40) // sha256
	_, ipHit := synthValue(12)
	_, domHit := synthValue(18)
	ip := netip.MustParseAddr(ipHit)
	miss := netip.MustParseAddr("192.0.2.1")
	for _, s := range []struct {
		name string
		set  *Set
	}{{"1M", full}, {"empty", empty}} {
		b.Run("sha256-hit/"+s.name, func(b *testing.B) {
			for range b.N {
				_ = s.set.Hash(TypeSHA256, hashHit)
			}
		})
		b.Run("sha256-bytes-hit/"+s.name, func(b *testing.B) {
			raw, _ := hex.DecodeString(hashHit)
			for range b.N {
				_ = s.set.HashBytes(raw)
			}
		})
		b.Run("sha256-miss/"+s.name, func(b *testing.B) {
			for range b.N {
				_ = s.set.Hash(TypeSHA256, "00000000000000000000000000000000000000000000000000000000000000aa")
			}
		})
		b.Run("ip-hit/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				_ = s.set.IP(ip, 443)
			}
		})
		b.Run("ip-miss/"+s.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				_ = s.set.IP(miss, 443)
			}
		})
		b.Run("domain-hit/"+s.name, func(b *testing.B) {
			name := "a.b." + domHit // a subdomain: three names looked up
			for range b.N {
				_ = s.set.Domain(name)
			}
		})
		b.Run("domain-miss/"+s.name, func(b *testing.B) {
			for range b.N {
				_ = s.set.Domain("www.example.org")
			}
		})
	}
}
