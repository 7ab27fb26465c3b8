from cruddur_ops.cli.app import main

main()
