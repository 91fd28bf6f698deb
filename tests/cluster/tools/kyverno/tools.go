//go:build tools

// Package tools names the command tests/cluster/build compiles.
package tools

import _ "github.com/kyverno/kyverno/cmd/cli/kubectl-kyverno"
