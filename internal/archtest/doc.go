// Package archtest holds no code, only a test: it reads the import rules from the
// ```rules block of docs/architecture.md, lists the imports of every package in the
// module with `go list`, and fails on each import a rule forbids, so the page and the
// code cannot drift apart. Rules cover the imports of non-test files; _test.go files
// may reach further (a service's tests run it over its real store and PostgreSQL).
//
// Run it with `go test ./internal/archtest/`.
package archtest
