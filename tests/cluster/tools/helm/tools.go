//go:build tools

// Package tools names the command tests/cluster/build compiles.
package tools

import _ "helm.sh/helm/v4/cmd/helm"
