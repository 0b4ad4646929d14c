module deploytools

go 1.23
