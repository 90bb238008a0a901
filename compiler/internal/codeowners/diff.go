package codeowners

import (
	"bytes"
	"strconv"
	"strings"
)

// maxDiffCells bounds the line-diff table (old lines × new lines); beyond
// it the differing middle is shown as replaced wholesale.
const maxDiffCells = 1 << 22

// Diff compares the checked-in file (old) with the generated one (new).
// It returns the 1-based line of old where they first differ (0 when they
// are equal) and the differing lines in order, "-" for lines only in old
// and "+" for lines only in new, each prefixed with its line number in
// the file it comes from.
func Diff(old, new []byte) (first int, lines []string) {
	if bytes.Equal(old, new) {
		return 0, nil
	}
	a, b := splitLines(old), splitLines(new)
	pre := 0
	for pre < len(a) && pre < len(b) && a[pre] == b[pre] {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && a[len(a)-1-suf] == b[len(b)-1-suf] {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	first = pre + 1
	emit := func(sign string, n int, s string) {
		lines = append(lines, sign+strconv.Itoa(n)+": "+s)
	}
	if len(ma)*len(mb) > maxDiffCells {
		for i, s := range ma {
			emit("-", pre+i+1, s)
		}
		for j, s := range mb {
			emit("+", pre+j+1, s)
		}
		return first, lines
	}
	// lcs[i][j] is the longest common subsequence of ma[i:] and mb[j:].
	lcs := make([][]int, len(ma)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(mb)+1)
	}
	for i := len(ma) - 1; i >= 0; i-- {
		for j := len(mb) - 1; j >= 0; j-- {
			if ma[i] == mb[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	i, j := 0, 0
	for i < len(ma) || j < len(mb) {
		switch {
		case i < len(ma) && j < len(mb) && ma[i] == mb[j]:
			i++
			j++
		case j == len(mb) || i < len(ma) && lcs[i+1][j] >= lcs[i][j+1]:
			emit("-", pre+i+1, ma[i])
			i++
		default:
			emit("+", pre+j+1, mb[j])
			j++
		}
	}
	if len(lines) == 0 {
		// Same lines, different bytes: a missing final newline or \r\n.
		emit("~", len(a), "line endings differ")
		first = max(len(a), 1)
	}
	return first, lines
}

func splitLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
}
