// Package suggest finds the name a user probably meant: error messages of
// rules, config and CLI flags say "did you mean …?" with it.
package suggest

// Nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a plausible typo, or "".
func Nearest(s string, candidates []string) string {
	best, bestD := "", max(3, len(s)/3+1)
	for _, c := range candidates {
		if d := distance(s, c); d < bestD || (d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
