package proctree

import (
	"container/list"
	"math/rand/v2"
	"testing"
)

// TestQueueIsAList: random pushes, moves and removals leave the queue in
// the order container/list keeps for the same operations.
func TestQueueIsAList(t *testing.T) {
	var q queue
	q.init()
	var l list.List
	elems := map[*node]*list.Element{}
	r := rand.New(rand.NewPCG(1, 2))
	var in []*node
	for step := range 5000 {
		switch op := r.IntN(4); {
		case op == 0 || len(in) == 0:
			n := &node{exitAt: int64(step)}
			q.pushFront(n)
			elems[n] = l.PushFront(n)
			in = append(in, n)
		case op == 1:
			n := &node{exitAt: int64(step)}
			q.pushBack(n)
			elems[n] = l.PushBack(n)
			in = append(in, n)
		case op == 2:
			n := in[r.IntN(len(in))]
			q.moveToFront(n)
			l.MoveToFront(elems[n])
		default:
			i := r.IntN(len(in))
			n := in[i]
			q.remove(n)
			l.Remove(elems[n])
			in = append(in[:i], in[i+1:]...)
		}
		if q.n != l.Len() {
			t.Fatalf("step %d: %d nodes, want %d", step, q.n, l.Len())
		}
		if q.n > 0 && (q.front() != l.Front().Value || q.back() != l.Back().Value) {
			t.Fatalf("step %d: front or back differs", step)
		}
	}
	e := l.Front()
	for n := q.front(); n != &q.root; n = n.next {
		if e == nil || e.Value != n {
			t.Fatal("the queue's order differs from the list's")
		}
		e = e.Next()
	}
	if e != nil {
		t.Fatal("the list holds more than the queue")
	}
}
