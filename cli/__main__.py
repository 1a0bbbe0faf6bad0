from patchwarden.cli.main import main

main()
