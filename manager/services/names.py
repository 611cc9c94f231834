"""Docker-style random container names (adjective_scientist)."""
import os

__all__ = ["random_name"]

_ADJ = ("admiring adoring affectionate amazing angry awesome blissful bold boring brave busy "
        "charming clever compassionate competent condescending confident cool cranky crazy "
        "dazzling determined distracted dreamy eager ecstatic elastic elated elegant eloquent "
        "epic exciting fervent festive flamboyant focused friendly frosty funny gallant "
        "gifted goofy gracious great happy hardcore heuristic hopeful hungry infallible "
        "inspiring intelligent interesting jolly jovial keen kind laughing loving lucid "
        "magical modest musing mystifying naughty nervous nice nifty nostalgic objective "
        "optimistic peaceful pedantic pensive practical priceless quirky quizzical "
        "recursing relaxed reverent romantic sad serene sharp silly sleepy stoic strange "
        "stupefied suspicious sweet tender thirsty trusting unruffled upbeat vibrant "
        "vigilant vigorous wizardly wonderful xenodochial youthful zealous zen").split()
_NAMES = ("albattani allen archimedes ardinghelli aryabhata austin babbage banach bardeen "
          "bartik bassi beaver bell benz bhabha bhaskara blackburn blackwell bohr booth "
          "borg bose bouman boyd brahmagupta brattain brown buck burnell cannon carson cartwright "
          "cerf chandrasekhar chaplygin chatelet chatterjee chaum chebyshev clarke cohen "
          "colden cori cray curie darwin davinci dewdney dhawan diffie dijkstra dirac "
          "driscoll dubinsky easley edison einstein elbakyan elgamal elion ellis engelbart "
          "euclid euler faraday feistel fermat fermi feynman franklin gagarin galileo galois "
          "ganguly gates gauss germain goldberg goldstine goldwasser golick goodall gould "
          "greider grothendieck haibt hamilton haslett hawking heisenberg hellman hermann "
          "herschel hertz heyrovsky hodgkin hofstadter hoover hopper hugle hypatia jackson "
          "jang jennings jepsen johnson joliot jones kalam kapitsa kare keldysh keller kepler "
          "khorana kilby kirch knuth kowalevski lalande lamarr lamport leakey leavitt lederberg "
          "lehmann lewin lichterman liskov lovelace lumiere mahavira margulis matsumoto maxwell "
          "mayer mccarthy mcclintock mclaren mclean mcnulty meitner mendel mendeleev meninsky "
          "merkle mestorf mirzakhani montalcini moore morse moser murdock napier nash neumann "
          "newton nightingale nobel noether northcutt noyce panini pare pascal pasteur payne "
          "perlman pike poincare poitras proskuriakova ptolemy raman ramanujan rhodes ride "
          "ritchie robinson roentgen rosalind rubin saha sammet sanderson satoshi shamir "
          "shannon shaw shirley shockley shtern sinoussi snyder solomon spence stonebraker "
          "sutherland swanson swartz swirles taussig tesla tharp thompson torvalds tu turing "
          "varahamihira vaughan villani visvesvaraya volhard wescoff wilbur wiles williams "
          "williamson wilson wing wozniak wright wu yalow yonath zhukovsky").split()


def _pick(seq):
    return seq[int.from_bytes(os.urandom(4), "big") % len(seq)]


def random_name(taken=()):
    for _ in range(100):
        n = f"{_pick(_ADJ)}_{_pick(_NAMES)}"
        if n not in taken:
            return n
    return f"{n}{int.from_bytes(os.urandom(1), 'big') % 100}"
