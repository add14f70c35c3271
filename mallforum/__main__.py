from mallforum.cli import main

main()
