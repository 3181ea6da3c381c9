package syncer

import (
	"bytes"
	"iter"
	"slices"
)

// guid is a record id held in 16 bytes. Every Dataverse key and every
// Business Central API id is a GUID: a run over 1,000,000 records keeps
// sets of them, and as strings they cost four times as much.
type guid [16]byte

// packGUID parses id when it is a GUID written the way both services
// write them (lowercase, with dashes), so that unpacking gives back the
// same string. Any other id is not packed.
func packGUID(id string) (guid, bool) {
	var g guid
	if len(id) != 36 {
		return g, false
	}
	j := 0
	for i := 0; i < 36; {
		switch i {
		case 8, 13, 18, 23:
			if id[i] != '-' {
				return g, false
			}
			i++
			continue
		}
		hi, ok1 := hexNibble(id[i])
		lo, ok2 := hexNibble(id[i+1])
		if !ok1 || !ok2 {
			return g, false
		}
		g[j] = hi<<4 | lo
		j++
		i += 2
	}
	return g, true
}

func hexNibble(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// String writes the GUID as packGUID reads it.
func (g guid) String() string {
	const hex = "0123456789abcdef"
	var b [36]byte
	j := 0
	for i := range g {
		switch j {
		case 8, 13, 18, 23:
			b[j] = '-'
			j++
		}
		b[j], b[j+1] = hex[g[i]>>4], hex[g[i]&0xf]
		j += 2
	}
	return string(b[:])
}

// idSet is a set of record ids, GUIDs packed (see guid). The GUIDs
// live in a sorted slice and the latest ones in a small map, merged into
// the slice every idSetMergeAt: a run over 1,000,000 records keeps the ids
// it handled in 16 MB where a map of them took 40.
type idSet struct {
	sorted []guid
	recent map[guid]struct{}
	other  map[string]struct{}
}

// idSetMergeAt bounds the map: at 65,536 ids a merge copies the slice
// about fifteen times over a run of 1,000,000, and the map stays near 3 MB.
const idSetMergeAt = 1 << 16

// compare16 orders GUIDs and key hashes (both 16 bytes) for sorting.
func compare16[T ~[16]byte](a, b T) int { return bytes.Compare(a[:], b[:]) }

// add puts id in the set; false when it was there already.
func (s *idSet) add(id string) bool {
	if g, ok := packGUID(id); ok {
		if s.hasGUID(g) {
			return false
		}
		if s.recent == nil {
			s.recent = map[guid]struct{}{}
		}
		s.recent[g] = struct{}{}
		if len(s.recent) >= idSetMergeAt {
			s.merge()
		}
		return true
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	if s.other == nil {
		s.other = map[string]struct{}{}
	}
	s.other[id] = struct{}{}
	return true
}

// merge moves the recent GUIDs into the sorted slice, merging from the
// back in place so that only the slice's growth allocates.
func (s *idSet) merge() {
	add := make([]guid, 0, len(s.recent))
	for g := range s.recent {
		add = append(add, g)
	}
	slices.SortFunc(add, compare16[guid])
	n, m := len(s.sorted), len(add)
	s.sorted = slices.Grow(s.sorted, m)[:n+m]
	i, j := n-1, m-1
	for k := n + m - 1; j >= 0; k-- {
		if i >= 0 && compare16(s.sorted[i], add[j]) > 0 {
			s.sorted[k], i = s.sorted[i], i-1
		} else {
			s.sorted[k], j = add[j], j-1
		}
	}
	clear(s.recent)
}

func (s *idSet) hasGUID(g guid) bool {
	if _, in := s.recent[g]; in {
		return true
	}
	_, in := slices.BinarySearchFunc(s.sorted, g, compare16[guid])
	return in
}

func (s *idSet) has(id string) bool {
	if s == nil {
		return false
	}
	if g, ok := packGUID(id); ok {
		return s.hasGUID(g)
	}
	_, in := s.other[id]
	return in
}

func (s *idSet) len() int {
	if s == nil {
		return 0
	}
	return len(s.sorted) + len(s.recent) + len(s.other)
}

// all yields the ids in no particular order.
func (s *idSet) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		if s == nil {
			return
		}
		for _, g := range s.sorted {
			if !yield(g.String()) {
				return
			}
		}
		for g := range s.recent {
			if !yield(g.String()) {
				return
			}
		}
		for id := range s.other {
			if !yield(id) {
				return
			}
		}
	}
}

// idList collects ids to walk once, later: appended as they come and
// sorted, without duplicates, by seal. It holds references into a crmRefs,
// its own or a match index's (see matchIndex.keep): the uncoupled CRM ids
// a full run keeps are the ids the index packs already, so 1,000,000 of
// them cost 4 MB here instead of 16 MB more.
type idList struct {
	ids    *crmRefs
	refs   []int32
	sealed bool
}

func (l *idList) add(id string) {
	if l.ids == nil {
		l.ids = &crmRefs{}
	}
	l.addRef(l.ids.add(id))
}

// addRef adds an id l.ids already holds.
func (l *idList) addRef(ref int32) {
	l.refs = append(l.refs, ref)
	l.sealed = false
}

// seal sorts the list and drops repeats (a row read twice).
func (l *idList) seal() {
	if l.sealed {
		return
	}
	slices.SortFunc(l.refs, l.ids.compare)
	l.refs = slices.Clip(slices.CompactFunc(l.refs, l.ids.same))
	l.sealed = true
}

func (l *idList) len() int {
	if l == nil {
		return 0
	}
	l.seal()
	return len(l.refs)
}

// all yields each id once, GUIDs first.
func (l *idList) all() iter.Seq[string] {
	return func(yield func(string) bool) {
		if l == nil {
			return
		}
		l.seal()
		for _, ref := range l.refs {
			if !yield(l.ids.id(ref)) {
				return
			}
		}
	}
}
