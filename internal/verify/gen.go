package verify

// The tests' fixture objects (testdata/*.bpf.o), rebuilt by make generate.
//go:generate sh testdata/build.sh
