// Package pipeline computes the OpenFlow pipeline of one edge switch from
// its view of the database: Compile is a pure function from a SwitchView to
// the complete, sorted set of flows and groups, and Incremental keeps the
// compiled state of one switch so a change to a few MAC records yields a
// delta instead of a full recompile. The tables, metadata, cookies and
// group ids are documented in docs/pipeline.md.
package pipeline
