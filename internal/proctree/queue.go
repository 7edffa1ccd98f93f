package proctree

// queue is a doubly linked list of nodes threaded through the nodes
// themselves, around a sentinel: what container/list does, without an
// element allocated per entry.
type queue struct {
	root node // root.next is the front, root.prev the back
	n    int
}

func (q *queue) init() { q.root.next, q.root.prev = &q.root, &q.root }

// front is the first node, nil when q is empty.
func (q *queue) front() *node {
	if q.n == 0 {
		return nil
	}
	return q.root.next
}

// back is the last node, nil when q is empty.
func (q *queue) back() *node {
	if q.n == 0 {
		return nil
	}
	return q.root.prev
}

// insertAfter links n, which is in no queue, after at.
func (q *queue) insertAfter(n, at *node) {
	n.prev, n.next = at, at.next
	at.next.prev = n
	at.next = n
	q.n++
}

func (q *queue) pushFront(n *node) { q.insertAfter(n, &q.root) }
func (q *queue) pushBack(n *node)  { q.insertAfter(n, q.root.prev) }

// remove unlinks n, which must be in q.
func (q *queue) remove(n *node) {
	n.prev.next = n.next
	n.next.prev = n.prev
	n.prev, n.next = nil, nil
	q.n--
}

// moveToFront makes n, which must be in q, the first node.
func (q *queue) moveToFront(n *node) {
	if q.root.next == n {
		return
	}
	q.remove(n)
	q.pushFront(n)
}
