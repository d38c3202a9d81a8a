module weft-peer-go

go 1.19
