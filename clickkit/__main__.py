from clickkit.cli import main

raise SystemExit(main())
