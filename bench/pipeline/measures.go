package main

import (
	"fmt"
	"strconv"
	"time"
)

const idleWindow = 3 * time.Second

// stormRun: n opens as fast as the generator can make them; the agent's
// CPU over the storm, until its output settles, per event delivered (its
// idle CPU before is printed beside it). extra are more flags for the agent.
func (b *bench) stormRun(n int, extra []string) error {
	a, err := b.start("storm", extra...)
	if err != nil {
		return err
	}
	c0 := a.cpu()
	time.Sleep(idleWindow)
	idle := a.cpu() - c0
	rssStart := a.rss()
	c1, w1 := a.cpu(), time.Now()
	made, took, err := b.generate(n, 0)
	if err != nil {
		_ = a.stop()
		return err
	}
	t, err := b.waitSettled(a, uint64(made))
	if err != nil {
		_ = a.stop()
		return err
	}
	busy, wall := a.cpu()-c1, time.Since(w1)
	rssStorm := a.rss()
	if err := a.stop(); err != nil {
		return err
	}
	final, err := b.count(a)
	if err != nil {
		return err
	}
	fmt.Printf("\n== storm: %d opens of a watched, alerting file, as fast as the generator's core makes them (%.0f/s)\n", made, float64(made)/took.Seconds())
	fmt.Printf("agent CPU %v over %v (idle: %v in %v before); delivered %d, lost %d\n", busy.Round(time.Millisecond), wall.Round(time.Millisecond), idle, idleWindow, final.delivered, final.lost)
	if t.delivered > 0 {
		fmt.Printf("agent CPU per event delivered: %.2f µs (all of the agent's CPU over the storm and until its output settled)\n",
			float64(busy.Nanoseconds())/float64(t.delivered)/1e3)
	}
	fmt.Printf("RSS after start %.1f MB, after the storm %.1f MB\n", mb(rssStart), mb(rssStorm))
	return nil
}

// knee runs the paced generator at each rate, against a fresh agent each
// time, and reports whether every event was delivered or counted lost.
func (b *bench) knee(rates []int, d time.Duration) error {
	fmt.Printf("\n== zero-loss knee: paced opens for %v per rate, agent pinned to core %d\n", d, b.agentCPU)
	fmt.Println("| target/s | achieved/s | produced | delivered | lost | delivered ≤ produced ≤ delivered + lost | agent CPU/event |")
	fmt.Println("|---|---|---|---|---|---|---|")
	knee := 0
	for _, r := range rates {
		a, err := b.start("rate-" + strconv.Itoa(r))
		if err != nil {
			return err
		}
		c0 := a.cpu()
		made, took, err := b.generate(int(float64(r)*d.Seconds()), r)
		if err != nil {
			_ = a.stop()
			return err
		}
		if _, err := b.waitSettled(a, uint64(made)); err != nil {
			_ = a.stop()
			return err
		}
		busy := a.cpu() - c0
		if err := a.stop(); err != nil {
			return err
		}
		t, err := b.count(a)
		if err != nil {
			return err
		}
		// every event of the file is delivered or counted lost; the lost
		// count may hold other files' opens too (the kernel's counters
		// are per kind)
		balanced := t.delivered <= uint64(made) && uint64(made) <= t.delivered+t.lost
		fmt.Printf("| %d | %.0f | %d | %d | %d | %v | %.2f µs |\n", r, float64(made)/took.Seconds(), made, t.delivered, t.lost, balanced,
			float64(busy.Nanoseconds())/float64(max(t.delivered, 1))/1e3)
		if t.lost == 0 && t.delivered == uint64(made) && float64(made)/took.Seconds() >= 0.95*float64(r) {
			knee = r
		}
	}
	fmt.Printf("knee: every event delivered up to %d events/s (the highest rate tried with no loss that the generator kept up with)\n", knee)
	return nil
}

func mb(b uint64) float64 { return float64(b) / 1e6 }
