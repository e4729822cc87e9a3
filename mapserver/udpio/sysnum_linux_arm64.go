package udpio

// System call numbers the syscall package does not (all) export.
const (
	sysRecvmmsg = 243
	sysSendmmsg = 269
)
