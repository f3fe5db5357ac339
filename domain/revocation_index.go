package domain

import (
	"cmp"
	"hash/maphash"
	"math"
	"slices"
	"time"
)

// RevocationList is revocations packed without pointers: the garbage
// collector marks it without reading it, so that thousands of active
// revocations held by a replica add next to nothing to the collection
// work of the grant path, which allocates on every request.
type RevocationList struct {
	recs  []packedRevocation
	bytes []byte
}

// packedRevocation is a Revocation whose strings are spans of the list's
// bytes and whose times are Unix nanoseconds.
type packedRevocation struct {
	notBefore, expiresAt                   int64
	id, user, org, session, reason, source span
	allOrganizations                       bool
}

// span is where a string lies in a RevocationList's bytes.
type span struct{ off, n uint32 }

// Append adds r at the end of the list.
func (l *RevocationList) Append(r Revocation) {
	put := func(v string) span {
		sp := span{off: uint32(len(l.bytes)), n: uint32(len(v))}
		l.bytes = append(l.bytes, v...)
		return sp
	}
	l.recs = append(l.recs, packedRevocation{
		notBefore: r.NotBefore.UnixNano(), expiresAt: r.ExpiresAt.UnixNano(),
		id: put(r.ID), user: put(r.UserID), org: put(r.OrgID), session: put(r.SessionID),
		reason: put(r.Reason), source: put(string(r.Source)), allOrganizations: r.AllOrganizations,
	})
}

// appendFrom adds src's i-th revocation, copying its bytes rather than
// unpacking it.
func (l *RevocationList) appendFrom(src *RevocationList, i int) {
	p := src.recs[i]
	cp := func(sp span) span {
		out := span{off: uint32(len(l.bytes)), n: sp.n}
		l.bytes = append(l.bytes, src.bytes[sp.off:sp.off+sp.n]...)
		return out
	}
	p.id, p.user, p.org, p.session, p.reason, p.source = cp(p.id), cp(p.user), cp(p.org), cp(p.session), cp(p.reason), cp(p.source)
	l.recs = append(l.recs, p)
}

// Len is how many revocations the list holds.
func (l *RevocationList) Len() int { return len(l.recs) }

// At is the i-th revocation appended.
func (l *RevocationList) At(i int) Revocation {
	p := &l.recs[i]
	return Revocation{
		ID: l.str(p.id),
		RevocationRequest: RevocationRequest{
			UserID: l.str(p.user), OrgID: l.str(p.org), AllOrganizations: p.allOrganizations,
			SessionID: l.str(p.session), Reason: l.str(p.reason), Source: RevocationSource(l.str(p.source)),
		},
		NotBefore: time.Unix(0, p.notBefore).UTC(),
		ExpiresAt: time.Unix(0, p.expiresAt).UTC(),
	}
}

// Active reports whether the i-th revocation still refuses anything at now.
func (l *RevocationList) Active(i int, now time.Time) bool {
	return now.UnixNano() < l.recs[i].expiresAt
}

func (l *RevocationList) str(sp span) string { return string(l.bytes[sp.off : sp.off+sp.n]) }

// is reports whether sp holds v, without allocating.
func (l *RevocationList) is(sp span, v string) bool {
	return string(l.bytes[sp.off:sp.off+sp.n]) == v
}

// refuses is Revocation.Matches and Revocation.Active of the i-th.
func (l *RevocationList) refuses(i int, p Principal, now time.Time) bool {
	r := &l.recs[i]
	switch {
	case !l.is(r.user, p.UserID), !r.allOrganizations && !l.is(r.org, p.OrgID):
		return false
	case r.session.n != 0 && !l.is(r.session, p.SessionID):
		return false
	case now.UnixNano() >= r.expiresAt:
		return false
	}
	return p.IssuedAt.IsZero() || p.IssuedAt.UnixNano() < r.notBefore
}

// RevocationIndex is a set of revocations looked up by user: what a
// replica checks every grant against, without a network call. It is
// immutable; With and Merge return new ones.
//
// It holds a large base, shared between the indexes With derives, and a
// small set of revocations added since: With copies only the small set,
// and folds it into a new base once it outgrows the square root of the
// base, so that recording n revocations one by one costs about n·√n
// steps rather than n². Both are packed without pointers (RevocationList).
type RevocationIndex struct {
	base, added revocationTable
}

// revocationTable is a RevocationList with chains of positions by the
// hash of user and of id; never changed once published in an index.
type revocationTable struct {
	list           RevocationList
	seed           maphash.Seed
	byUser, byID   map[uint64]int32 // first position of the hash's chain
	nextUser, next []int32          // the chains; -1 ends one
}

// newRevocationTable is an empty table with room for n revocations.
func newRevocationTable(n int) revocationTable {
	t := revocationTable{
		seed:   maphash.MakeSeed(),
		byUser: make(map[uint64]int32, n), byID: make(map[uint64]int32, n),
		nextUser: make([]int32, 0, n), next: make([]int32, 0, n),
	}
	t.list.recs = make([]packedRevocation, 0, n)
	return t
}

// link chains the list's last revocation by user and by id.
func (t *revocationTable) link() {
	i := int32(t.list.Len() - 1)
	r := &t.list.recs[i]
	t.nextUser = append(t.nextUser, chain(t.byUser, t.hash(r.user), i))
	t.next = append(t.next, chain(t.byID, t.hash(r.id), i))
}

func (t *revocationTable) hash(sp span) uint64 {
	return maphash.Bytes(t.seed, t.list.bytes[sp.off:sp.off+sp.n])
}

// build is a table of what keep lets through of the tables from, then
// fresh, copying packed revocations as they are.
func build(from []*revocationTable, keep func(*RevocationList, int) bool, fresh []Revocation) revocationTable {
	n, size := len(fresh), 0
	for _, f := range from {
		n, size = n+f.len(), size+len(f.list.bytes)
	}
	for _, r := range fresh {
		size += len(r.ID) + len(r.UserID) + len(r.OrgID) + len(r.SessionID) + len(r.Reason) + len(r.Source)
	}
	t := newRevocationTable(n)
	t.list.bytes = make([]byte, 0, size)
	for _, f := range from {
		for i := range f.len() {
			if keep == nil || keep(&f.list, i) {
				t.list.appendFrom(&f.list, i)
				t.link()
			}
		}
	}
	for _, r := range fresh {
		t.list.Append(r)
		t.link()
	}
	return t
}

// chain makes i the head of h's chain in heads and returns the former
// head (-1: none).
func chain(heads map[uint64]int32, h uint64, i int32) int32 {
	prev, ok := heads[h]
	heads[h] = i
	if !ok {
		return -1
	}
	return prev
}

func (t *revocationTable) len() int { return t.list.Len() }

// find is the position of the revocation with id; -1 when none.
func (t *revocationTable) find(id string) int {
	if t.byID == nil {
		return -1
	}
	i, ok := t.byID[maphash.String(t.seed, id)]
	for ; ok && i >= 0; i = t.next[i] {
		if t.list.is(t.list.recs[i].id, id) {
			return int(i)
		}
	}
	return -1
}

// ofUser calls f with the position of each revocation of user until f
// returns false.
func (t *revocationTable) ofUser(user string, f func(int) bool) {
	if t.byUser == nil {
		return
	}
	i, ok := t.byUser[maphash.String(t.seed, user)]
	for ; ok && i >= 0; i = t.nextUser[i] {
		if t.list.is(t.list.recs[i].user, user) && !f(int(i)) {
			return
		}
	}
}

// minAddedBeforeFold is how many revocations With may add before folding
// them into the base, whatever the base's size.
const minAddedBeforeFold = 64

// NewRevocationIndex indexes revs; of two with the same id, the later
// one in revs is kept.
func NewRevocationIndex(revs []Revocation) *RevocationIndex {
	return &RevocationIndex{base: build(nil, nil, dedupe(revs))}
}

// Len is how many revocations the index holds.
func (x *RevocationIndex) Len() int { return x.base.len() + x.added.len() }

// Refusing is the revocation that refuses p at now, if one does.
func (x *RevocationIndex) Refusing(p Principal, now time.Time) (Revocation, bool) {
	for _, t := range [2]*revocationTable{&x.base, &x.added} {
		found := -1
		t.ofUser(p.UserID, func(i int) bool {
			if t.list.refuses(i, p, now) {
				found = i
				return false
			}
			return true
		})
		if found >= 0 {
			return t.list.At(found), true
		}
	}
	return Revocation{}, false
}

// Get is the revocation with id, if the index holds it.
func (x *RevocationIndex) Get(id string) (Revocation, bool) {
	for _, t := range [2]*revocationTable{&x.added, &x.base} {
		if i := t.find(id); i >= 0 {
			return t.list.At(i), true
		}
	}
	return Revocation{}, false
}

// Active is every revocation still active at now, of user when user is
// not empty, latest cut-off first.
func (x *RevocationIndex) Active(user string, now time.Time) []Revocation {
	var out []Revocation
	for _, t := range [2]*revocationTable{&x.base, &x.added} {
		add := func(i int) bool {
			if t.list.Active(i, now) {
				out = append(out, t.list.At(i))
			}
			return true
		}
		if user != "" {
			t.ofUser(user, add)
			continue
		}
		for i := range t.len() {
			add(i)
		}
	}
	slices.SortFunc(out, func(a, b Revocation) int {
		if c := b.NotBefore.Compare(a.NotBefore); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// With is the index with revs added; x itself when it holds them all
// already. It copies the few revocations added since the base was built,
// not the base: cheap enough for each revocation recorded.
func (x *RevocationIndex) With(revs []Revocation) *RevocationIndex {
	var fresh []Revocation
	for _, r := range revs {
		if _, ok := x.Get(r.ID); ok || slices.ContainsFunc(fresh, func(f Revocation) bool { return f.ID == r.ID }) {
			continue
		}
		fresh = append(fresh, r)
	}
	if len(fresh) == 0 {
		return x
	}
	if x.added.len()+len(fresh) > max(minAddedBeforeFold, int(math.Sqrt(float64(x.base.len())))) {
		return &RevocationIndex{base: build([]*revocationTable{&x.base, &x.added}, nil, fresh)}
	}
	return &RevocationIndex{base: x.base, added: build([]*revocationTable{&x.added}, nil, fresh)}
}

// Merge is the index with revs added and what has expired at now
// dropped. Revocations are only ever added: a store that lost some (a
// Redis restarted empty) does not make a replica forget them.
func (x *RevocationIndex) Merge(revs []Revocation, now time.Time) *RevocationIndex {
	active := func(l *RevocationList, i int) bool { return l.Active(i, now) }
	var fresh []Revocation
	for _, r := range revs {
		if r.Active(now) {
			fresh = append(fresh, r)
		}
	}
	// What revs brings again replaces the index's copy, as
	// NewRevocationIndex keeps the later of two with one id.
	if len(fresh) > 0 {
		ids := make(map[string]struct{}, len(fresh))
		for _, r := range fresh {
			ids[r.ID] = struct{}{}
		}
		active = func(l *RevocationList, i int) bool {
			_, again := ids[l.str(l.recs[i].id)]
			return !again && l.Active(i, now)
		}
	}
	return &RevocationIndex{base: build([]*revocationTable{&x.base, &x.added}, active, dedupe(fresh))}
}

// dedupe is revs with the later of two with one id kept, in place of the
// earlier.
func dedupe(revs []Revocation) []Revocation {
	seen := make(map[string]int, len(revs))
	unique := make([]Revocation, 0, len(revs))
	for _, r := range revs {
		if i, ok := seen[r.ID]; ok {
			unique[i] = r
			continue
		}
		seen[r.ID] = len(unique)
		unique = append(unique, r)
	}
	return unique
}
