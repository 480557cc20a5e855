Console.WriteLine("pooler");
