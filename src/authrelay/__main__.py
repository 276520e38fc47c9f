from authrelay.cli.main import main

main()
