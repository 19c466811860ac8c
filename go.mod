module github.com/sc-hsm-init/sc-hsm-init

go 1.26.8
