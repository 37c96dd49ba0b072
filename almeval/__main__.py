from almeval.cli import main

main()
