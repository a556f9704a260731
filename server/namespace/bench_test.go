package namespace_test

import (
	"testing"

	"github.com/geomds/geomds/server/namespace/namespacetest"
)

func BenchmarkCreate(b *testing.B) { namespacetest.BenchCreate(b, namespacetest.MemStore()) }
func BenchmarkLookup(b *testing.B) { namespacetest.BenchLookup(b, namespacetest.MemStore()) }
func BenchmarkGetAttr(b *testing.B) {
	namespacetest.BenchGetAttr(b, namespacetest.MemStore())
}
func BenchmarkReadDir1000(b *testing.B) {
	namespacetest.BenchReadDir1000(b, namespacetest.MemStore())
}
func BenchmarkRename(b *testing.B) { namespacetest.BenchRename(b, namespacetest.MemStore()) }
