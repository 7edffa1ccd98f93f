package kernel

import (
	"testing"

	"github.com/vigil-sec/vigil/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }
