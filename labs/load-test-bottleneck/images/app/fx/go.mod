module fxprovider

go 1.23
