package kernel

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) {
	// Not a test run: the test binary re-executed as a helper in a mount
	// namespace of its own (TestEnsureMountsMountsWhatIsMissing).
	if root := os.Getenv(ensureMountsHelperEnv); root != "" {
		os.Exit(ensureMountsHelper(root))
	}
	// Or the helper making one real 32-bit system call
	// (TestCompatSyscallsAgreesWithARealCall).
	if os.Getenv(compatHelperEnv) != "" {
		os.Exit(compatHelper())
	}
	testenv.Main(m)
}
