package main

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// sourcePrefix is the document library's prefix in the source bucket.
const sourcePrefix = "document_library/"

// companyID is the Liferay company every key starts with.
const companyID = 20097

// content is one version of an object's bytes: generation gen of the library, whose
// size and bytes derive from the seed and gen alone.
type content struct {
	gen  uint64
	size int64
	sum  [sha256.Size]byte
}

// expected is one object of the library as a night left it.
type expected struct {
	key  string
	size int64
	sum  [sha256.Size]byte
}

// file is a Liferay file entry: its versions are objects of their own, under
// <company>/<repository>/<dir>/<file id>/<version>.
type file struct {
	repository, id int
	// minor is the last version written, 1.<minor>; new versions never reuse a key.
	minor int
}

func (f *file) key(minor int) string {
	return fmt.Sprintf("%s%d/%d/%d/%d/1.%d", sourcePrefix, companyID, f.repository, f.id/100, f.id, minor)
}

// write is an object to put into the source bucket.
type write struct {
	key string
	content
}

// nightChanges is what one night did to the library.
type nightChanges struct {
	writes                              []write
	deletes                             []string
	newFiles, newVersions, replacements int
}

// library simulates a Liferay document library: the objects it holds now, and the
// deterministic generator of its content and of its nightly changes.
type library struct {
	seed     uint64
	meanSize int64
	rng      *rand.Rand
	objects  map[string]content
	// keys holds the current keys for random picks; index is each key's position.
	keys    []string
	index   map[string]int
	files   []*file
	nextGen uint64
}

func newLibrary(seed uint64, meanSize int64) *library {
	return &library{
		seed: seed, meanSize: meanSize,
		rng:     rand.New(rand.NewPCG(seed, 0x6c6332)),
		objects: map[string]content{}, index: map[string]int{},
	}
}

// initial fills the library with n objects: files with one version (most), two or
// three, and returns the writes.
func (l *library) initial(n int) []write {
	var writes []write
	for len(writes) < n {
		f := l.newFile()
		versions := 1
		switch r := l.rng.Float64(); {
		case r < 0.05:
			versions = 3
		case r < 0.20:
			versions = 2
		}
		for v := 0; v < versions && len(writes) < n; v++ {
			if v > 0 {
				f.minor++
			}
			writes = append(writes, l.put(f.key(f.minor)))
		}
	}
	return writes
}

// night changes the library as one working day of Liferay would: changeRate of the
// objects are new files (40%), new versions of existing files (40%) or objects
// overwritten in place (20%, a new ETag under the same key), and deleteRate of them
// are deleted. Deletions are picked first, so no key is both written and deleted.
func (l *library) night(changeRate, deleteRate float64) nightChanges {
	var ch nightChanges
	count := len(l.keys)
	for range max(1, int(math.Round(deleteRate*float64(count)))) {
		key := l.keys[l.rng.IntN(len(l.keys))]
		l.remove(key)
		ch.deletes = append(ch.deletes, key)
	}
	touched := map[string]bool{}
	for range max(1, int(math.Round(changeRate*float64(count)))) {
		switch r := l.rng.Float64(); {
		case r < 0.4:
			f := l.newFile()
			ch.writes = append(ch.writes, l.put(f.key(0)))
			ch.newFiles++
		case r < 0.8:
			f := l.files[l.rng.IntN(len(l.files))]
			f.minor++
			ch.writes = append(ch.writes, l.put(f.key(f.minor)))
			ch.newVersions++
		default:
			key := l.keys[l.rng.IntN(len(l.keys))]
			if touched[key] {
				continue // written already tonight: one write per key and night
			}
			ch.writes = append(ch.writes, l.put(key))
			ch.replacements++
		}
		touched[ch.writes[len(ch.writes)-1].key] = true
	}
	return ch
}

func (l *library) newFile() *file {
	f := &file{repository: 20125 + l.rng.IntN(5), id: 40000 + len(l.files)}
	l.files = append(l.files, f)
	return f
}

// put gives key a new generation of content.
func (l *library) put(key string) write {
	l.nextGen++
	data := l.bytes(l.nextGen)
	c := content{gen: l.nextGen, size: int64(len(data)), sum: sha256.Sum256(data)}
	if _, ok := l.objects[key]; !ok {
		l.index[key] = len(l.keys)
		l.keys = append(l.keys, key)
	}
	l.objects[key] = c
	return write{key: key, content: c}
}

func (l *library) remove(key string) {
	i := l.index[key]
	last := l.keys[len(l.keys)-1]
	l.keys[i], l.index[last] = last, i
	l.keys = l.keys[:len(l.keys)-1]
	delete(l.index, key)
	delete(l.objects, key)
}

// bytes is the content of generation gen: its size from a mix of mostly small
// documents (log-uniform between a and 64a) and 2% larger ones (64a to 256a), with
// a chosen so that the mean is about meanSize; its bytes pseudo-random, so nothing
// compresses or deduplicates them.
func (l *library) bytes(gen uint64) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[0:], l.seed)
	binary.LittleEndian.PutUint64(key[8:], gen)
	copy(key[16:], "lc2-bench-object")
	src := rand.NewChaCha8(key)
	r := rand.New(src)
	a := float64(l.meanSize) / 18.05 // mean of the mix below, in units of a
	var size float64
	if r.Float64() < 0.02 {
		size = a * (64 + 192*r.Float64())
	} else {
		size = a * math.Exp(r.Float64()*math.Log(64))
	}
	data := make([]byte, max(1, int(size)))
	if _, err := src.Read(data); err != nil {
		panic(fmt.Errorf("chacha8 read: %w", err)) // documented never to fail
	}
	return data
}

// snapshot is the library as it is now, in key order.
func (l *library) snapshot() []expected {
	out := make([]expected, 0, len(l.objects))
	for k, c := range l.objects {
		out = append(out, expected{key: k, size: c.size, sum: c.sum})
	}
	slices.SortFunc(out, func(a, b expected) int { return strings.Compare(a.key, b.key) })
	return out
}

// totalBytes is the sum of the sizes of a snapshot.
func totalBytes(s []expected) int64 {
	var n int64
	for _, e := range s {
		n += e.size
	}
	return n
}
