// Package udpio reads and writes batches of UDP datagrams with one system
// call (recvmmsg/sendmmsg on Linux, one datagram per call elsewhere), on
// SO_REUSEPORT sockets so several readers can share one port. On Linux a
// socket may also take runs of datagrams as one message (GRO) and send
// them so (GSO): see gso_linux.go. The Map-Server and the LISP load
// generator use it.
package udpio
