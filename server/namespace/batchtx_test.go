package namespace

import (
	"bytes"
	"sort"
)

// batchTx buffers writes over a base MemTx, as a storage batch does: reads
// see the batch's own writes, and commit applies them in key order.
type batchTx struct {
	base    *MemTx
	pending map[string][]byte // nil value: delete
	deleted map[string]bool
}

var _ Tx = (*batchTx)(nil)

func newBatchTx(base *MemTx) *batchTx {
	return &batchTx{base: base, pending: map[string][]byte{}, deleted: map[string]bool{}}
}

func (b *batchTx) Get(key []byte) ([]byte, bool, error) {
	if b.deleted[string(key)] {
		return nil, false, nil
	}
	if v, ok := b.pending[string(key)]; ok {
		return v, true, nil
	}
	return b.base.Get(key)
}

func (b *batchTx) Put(key, value []byte) error {
	b.pending[string(key)] = append([]byte{}, value...)
	delete(b.deleted, string(key))
	return nil
}

func (b *batchTx) Delete(key []byte) error {
	delete(b.pending, string(key))
	b.deleted[string(key)] = true
	return nil
}

func (b *batchTx) Scan(start, end []byte, fn func(k, v []byte) bool) error {
	type kv struct{ k, v []byte }
	var all []kv
	b.base.Scan(start, end, func(k, v []byte) bool {
		if _, over := b.pending[string(k)]; !over && !b.deleted[string(k)] {
			all = append(all, kv{append([]byte{}, k...), v})
		}
		return true
	})
	for k, v := range b.pending {
		if bytes.Compare([]byte(k), start) >= 0 && (end == nil || bytes.Compare([]byte(k), end) < 0) {
			all = append(all, kv{[]byte(k), v})
		}
	}
	sort.Slice(all, func(i, j int) bool { return bytes.Compare(all[i].k, all[j].k) < 0 })
	for _, e := range all {
		if !fn(e.k, e.v) {
			return nil
		}
	}
	return nil
}

func (b *batchTx) commit() {
	keys := make([]string, 0, len(b.pending)+len(b.deleted))
	for k := range b.pending {
		keys = append(keys, k)
	}
	for k := range b.deleted {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b.deleted[k] {
			b.base.Delete([]byte(k))
		} else {
			b.base.Put([]byte(k), b.pending[k])
		}
	}
	b.pending, b.deleted = map[string][]byte{}, map[string]bool{}
}
