// Package cluster elects, among the controller replicas sharing one
// PostgreSQL database, the leader: the one replica that programs the
// switches. Every replica serves reads, REST writes and the LISP
// Map-Server; only the leader asks the switches for the OpenFlow MASTER
// role and sends them flow-mods, and only it runs the periodic writers
// (registration expiry, the sweep of learned hosts).
//
// The election is a lease row (cluster_lease) with a deadline in the
// database's clock, renewed by heartbeat. A standby takes the lease only
// once the deadline has passed, and every new term gets a larger epoch,
// which the leader uses as the OpenFlow generation-id. The leader counts
// its term from the moment it sent the renewal and gives it up a margin
// before the database's deadline, so that, with the database reachable or
// not, it has stopped acting before another replica can start. A replica
// frozen longer than its lease (a pause, a stalled process) may still send
// a message or two when it wakes; the switches refuse them, because the new
// leader's larger generation-id has made the old one a SLAVE there.
//
// A PostgreSQL advisory lock was the alternative. It lives as long as the
// holder's database session, and the database notices a dead session only
// by TCP keepalive: a leader cut off from the database, or paused, keeps the
// lock for as long as its session looks alive, possibly hours, and it has no
// deadline of its own by which to stop. A lease has both.
//
// SQLite is single-node: its one replica is always the leader and asks for
// the EQUAL role, as before the election existed.
package cluster
