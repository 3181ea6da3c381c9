package syncer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"math/bits"
	"slices"
	"strings"
	"unsafe"

	"github.com/coupler/coupler/internal/mapping"
)

// ambiguousCRM marks a match key that several uncoupled CRM records share.
const ambiguousCRM = "\x00ambiguous"

// matchIndex holds what match-based coupling needs and nothing more: the
// match keys of uncoupled CRM records (key → CRM id, per match group) and
// the uncoupled ERP records that have at least one candidate. ERP records
// without a candidate are only counted, so memory does not follow the
// size of the ERP table. A key is held as its hash and an id packed (see
// crmRefs), in a slice sorted once the CRM side is read: at 1,000,000 CRM
// rows the index as strings took 180 MB, as maps of hashes 77 MB, as
// sorted slices 20 MB.
type matchIndex struct {
	st      Store
	mapping string
	groups  [][]mapping.FieldMapping
	crm     [][]keyRef // per group: sorted by key once sealed
	dir     [][]int32  // per group, once sealed: where each leading-bits prefix of the keys starts (see lookup)
	sealed  bool
	ids     *crmRefs // shared with the list addCRM keeps ids in, if any
	erp     map[string]*erpCandidate
	erpFree int  // uncoupled ERP records seen
	none    bool // the mapping has no coupling yet: nothing to look up (see freshCouplings)
}

// keyRef is one match key of a CRM record: its hash and the crmRefs
// reference of the record, or refAmbiguous once sealed.
type keyRef struct {
	key keyHash
	ref int32
}

// keyHash is the first 128 bits of a match key's SHA-256. Two different
// keys among a table's worth share one with a probability far below that
// of a hardware fault (about 10⁻²⁷ at 10⁹ keys), so equal hashes are
// taken for equal keys.
type keyHash [16]byte

func hashKey(k []byte) keyHash {
	sum := sha256.Sum256(k)
	return keyHash(sum[:16])
}

// refAmbiguous marks a key that several CRM records share.
const refAmbiguous = -1

// crmRefs holds the ids the index refers to: a reference ≥ 0 is a packed
// GUID, one ≤ -2 an id that is not a GUID.
type crmRefs struct {
	guids []guid
	other []string
}

func (c *crmRefs) add(id string) int32 {
	if g, ok := packGUID(id); ok {
		c.guids = append(c.guids, g)
		return int32(len(c.guids) - 1)
	}
	c.other = append(c.other, id)
	return int32(-len(c.other) - 1)
}

// same is true when two references name one record.
func (c *crmRefs) same(a, b int32) bool {
	if a >= 0 && b >= 0 {
		return c.guids[a] == c.guids[b]
	}
	if a < 0 && b < 0 {
		return c.other[-a-2] == c.other[-b-2]
	}
	return false
}

// compare orders references by the ids they name: GUIDs first, by their
// bytes, then the other ids.
func (c *crmRefs) compare(a, b int32) int {
	switch {
	case a >= 0 && b >= 0:
		return compare16(c.guids[a], c.guids[b])
	case a < 0 && b < 0:
		return strings.Compare(c.other[-a-2], c.other[-b-2])
	case a >= 0:
		return -1
	}
	return 1
}

func (c *crmRefs) id(ref int32) string {
	if ref >= 0 {
		return c.guids[ref].String()
	}
	return c.other[-ref-2]
}

// erpCandidate is an uncoupled ERP record with a candidate in some group.
type erpCandidate struct {
	crm []string // per group: CRM id, ambiguousCRM, or "" (no candidate)
	on  []string // per group: "field=value, …" for the result
}

func newMatchIndex(st Store, mappingName string, groups [][]mapping.FieldMapping) *matchIndex {
	return &matchIndex{st: st, mapping: mappingName, groups: groups, crm: make([][]keyRef, len(groups)), dir: make([][]int32, len(groups)),
		ids: &crmRefs{}, erp: map[string]*erpCandidate{}}
}

// empty is true when no uncoupled CRM record has a match key.
func (ix *matchIndex) empty() bool {
	for _, g := range ix.crm {
		if len(g) > 0 {
			return false
		}
	}
	return true
}

// bytes is about what the sealed index holds in memory: its keys and the
// ids they refer to.
func (ix *matchIndex) bytes() int {
	ix.seal()
	n := 16*len(ix.ids.guids) + 40*len(ix.ids.other)
	for g, keys := range ix.crm {
		n += int(unsafe.Sizeof(keyRef{}))*cap(keys) + 4*len(ix.dir[g])
	}
	return n
}

// addCRM indexes the uncoupled records of a page of CRM rows. When keep
// is not nil it is asked about each of them, and the ids it wants are
// added to kept, which then shares the index's packed ids (and outlives
// the index).
func (ix *matchIndex) addCRM(ctx context.Context, page []Record, keep func(Record) bool, kept *idList) error {
	if keep != nil {
		if kept.ids != nil && kept.ids != ix.ids {
			return fmt.Errorf("syncer: match index of %s: the kept ids belong to another list", ix.mapping)
		}
		kept.ids = ix.ids
	}
	return ix.free(ctx, SideCRM, page, func(rec Record) {
		var ref int32
		added := false // to ix.ids, once for all groups
		if keep != nil && keep(rec) {
			ref, added = ix.ids.add(rec.ID), true
			kept.addRef(ref)
		}
		for g, group := range ix.groups {
			k, ok := matchKey(group, rec.Fields, false)
			if !ok {
				continue
			}
			if !added {
				ref, added = ix.ids.add(rec.ID), true
			}
			ix.crm[g] = append(ix.crm[g], keyRef{key: k, ref: ref})
			ix.sealed = false
		}
	})
}

// seal sorts each group's keys and leaves one entry per key: the record's
// reference, or refAmbiguous when several CRM records share the key (the
// same record read twice is one record).
func (ix *matchIndex) seal() {
	if ix.sealed {
		return
	}
	for g, keys := range ix.crm {
		slices.SortFunc(keys, func(a, b keyRef) int { return compare16(a.key, b.key) })
		out := keys[:0]
		for _, k := range keys {
			if n := len(out); n > 0 && out[n-1].key == k.key {
				if last := &out[n-1]; last.ref != refAmbiguous && !ix.ids.same(last.ref, k.ref) {
					last.ref = refAmbiguous
				}
				continue
			}
			out = append(out, k)
		}
		ix.crm[g] = slices.Clip(out)
		ix.dir[g] = directory(out)
	}
	ix.sealed = true
}

// dirBits is how many leading bits of the keys a directory of n sorted
// keys is indexed by: about one key per entry, at most 2¹⁶ entries (256 KB).
func dirBits(n int) uint {
	return min(16, uint(bits.Len(uint(n))))
}

// prefix is the leading b bits of k (b ≤ 16).
func prefix(k keyHash, b uint) int {
	return int(uint32(k[0])<<8|uint32(k[1])) >> (16 - b)
}

// directory gives, for each prefix p of the sorted keys, the index of the
// first key whose prefix is p or more; entry 2^bits is len(keys).
func directory(keys []keyRef) []int32 {
	b := dirBits(len(keys))
	d := make([]int32, 1<<b+1)
	j := 0
	for p := range d {
		for j < len(keys) && prefix(keys[j].key, b) < p {
			j++
		}
		d[p] = int32(j)
	}
	return d
}

// lookup is the reference a sealed group holds for key. The keys are
// hashes, spread evenly: the directory narrows the search to the key's
// prefix, about one key, where a binary search over the whole group took
// some 17 steps into memory the cache did not hold (0.16 of coupler's
// 6 CPU s in a full run over 100,000).
func (ix *matchIndex) lookup(g int, key keyHash) (int32, bool) {
	keys, d := ix.crm[g], ix.dir[g]
	p := prefix(key, dirBits(len(keys)))
	keys = keys[d[p]:d[p+1]]
	i, found := slices.BinarySearchFunc(keys, key, func(e keyRef, k keyHash) int { return compare16(e.key, k) })
	if !found {
		return 0, false
	}
	return keys[i].ref, true
}

// addERP checks a page of ERP rows against the CRM index and keeps the
// uncoupled ones that have a candidate.
func (ix *matchIndex) addERP(ctx context.Context, page []Record) error {
	return ix.free(ctx, SideERP, page, func(rec Record) { ix.candidate(rec) })
}

// candidate checks an uncoupled ERP record against the CRM index, keeps
// it if it has a candidate in some group and tells whether it has.
func (ix *matchIndex) candidate(rec Record) bool {
	ix.seal()
	ix.erpFree++
	var c *erpCandidate
	for g, group := range ix.groups {
		k, ok := matchKey(group, rec.Fields, true)
		if !ok {
			continue
		}
		ref, hit := ix.lookup(g, k)
		if !hit {
			continue
		}
		if c == nil {
			c = &erpCandidate{crm: make([]string, len(ix.groups)), on: make([]string, len(ix.groups))}
			ix.erp[rec.ID] = c
		}
		c.crm[g] = ambiguousCRM
		if ref != refAmbiguous {
			c.crm[g] = ix.ids.id(ref)
		}
		c.on[g] = describe(group, rec.Fields)
	}
	return c != nil
}

// held are the ERP ids candidate kept, in order.
func (ix *matchIndex) held() []string { return sortedKeys(ix.erp) }

// free calls fn for each record of the page that no coupling of the
// mapping holds, looking the couplings up a thousand at a time.
func (ix *matchIndex) free(ctx context.Context, side string, page []Record, fn func(Record)) error {
	if ix.none {
		for _, rec := range page {
			fn(rec)
		}
		return nil
	}
	const chunk = 1000
	for i := 0; i < len(page); i += chunk {
		part := page[i:min(i+chunk, len(page))]
		ids := make([]string, len(part))
		for k, rec := range part {
			ids[k] = rec.ID
		}
		cs, err := ix.st.GetCouplings(ctx, ix.mapping, side, ids)
		if err != nil {
			return fmt.Errorf("look up the couplings of %d %s record(s): %w", len(ids), side, err)
		}
		coupled := make(map[string]bool, len(cs))
		for _, c := range cs {
			if side == SideERP {
				coupled[c.ERPID] = true
			} else {
				coupled[c.CRMID] = true
			}
		}
		for _, rec := range part {
			if !coupled[rec.ID] {
				fn(rec)
			}
		}
	}
	return nil
}

// pairs decides the couplings: group by group in priority order, ERP ids
// in order, a key with exactly one free CRM record couples it; a key
// shared by several CRM records leaves the ERP record ambiguous unless a
// later group couples it.
func (ix *matchIndex) pairs() ([]MatchPair, []string) {
	ids := sortedKeys(ix.erp)
	paired := map[string]bool{}
	taken := map[string]bool{}
	ambiguous := map[string]bool{}
	var out []MatchPair
	for g := range ix.groups {
		for _, id := range ids {
			if paired[id] {
				continue
			}
			c := ix.erp[id]
			switch crmID := c.crm[g]; crmID {
			case "":
			case ambiguousCRM:
				ambiguous[id] = true
			default:
				if taken[crmID] {
					continue
				}
				out = append(out, MatchPair{ERPID: id, CRMID: crmID, On: c.on[g]})
				paired[id], taken[crmID] = true, true
				delete(ambiguous, id)
			}
		}
	}
	return out, sortedKeys(ambiguous)
}
