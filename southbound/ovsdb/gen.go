package ovsdb

// The models in ./vswitchd are generated from the Open_vSwitch schema that
// ships with Open vSwitch 3.1 (copied here so generation is reproducible).
//go:generate go run github.com/ovn-kubernetes/libovsdb/cmd/modelgen -p vswitchd -o ./vswitchd vswitch.ovsschema
